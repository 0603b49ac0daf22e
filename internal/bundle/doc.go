// Package bundle moves a built vulnerability database to sites without
// network access: Export writes it, with a manifest signed with ed25519,
// into a tar archive (gzip-compressed); Import checks the signature against
// trusted keys, the database's digest against the manifest and the
// manifest's build time against the installed database's, and only then
// replaces the installed file, atomically.
//
// The database is an opaque file to this package; the manifest carries its
// metadata (Manifest.Meta) for display only. The format is documented in
// docs/formats/bundle.md.
//
// A bundle is untrusted input until verified: reads are bounded, member
// names and types are checked, nothing is written outside the destination's
// directory, and FuzzImport exercises all of it. The package does not log.
// It is imported by the CLI (`vigil db export`, `vigil db import`).
package bundle
