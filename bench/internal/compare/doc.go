// Package compare reads the CycloneDX JSON SBOMs that Vigil, Syft and
// OSV-SCALIBR write for the same input and compares their package sets.
//
// A package is identified by its purl type, name and version (Key): the
// namespace is part of the name where it names the package (npm scopes, Go
// module paths, Maven groups) and dropped where it names the distribution
// (deb, rpm, apk), and qualifiers are ignored. Notations that differ only in
// form are made the same: a deb epoch given as a qualifier joins the
// version, and Go versions lose their "v" and a Go module path split into
// purl name and subpath is joined again. Each key found by some tools
// and not others is put in a Class that explains the difference. Only
// bench/ imports it.
package compare
