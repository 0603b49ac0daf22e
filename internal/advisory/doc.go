// Package advisory is Vigil's model of vulnerability advisory data and the
// parsers of the public formats it comes in: the OSV schema (JSON and YAML,
// single files, directories and per-ecosystem all.zip exports), the Debian
// security tracker's DSA/DLA lists, Alpine's secdb, FIRST's EPSS scores and
// CISA's Known Exploited Vulnerabilities catalogue.
//
// One file per format: osv.go (ParseOSV, decoding with the OSV schema's
// official bindings), walk.go (WalkOSV), zip.go (ReadOSVZip), debian.go
// (ParseDebianList), alpine.go (ParseAlpineSecDB), epss.go (ParseEPSS),
// kev.go (ParseKEV); names.go holds the package-name keys (NormalizeName,
// EcosystemBase) and yaml.go the bounded YAML-to-JSON conversion shared by
// the OSV and secdb parsers.
//
// Parsers read untrusted bytes: every read is bounded and every parser has a
// fuzz test. They do not log; a record that cannot be parsed is returned as
// an error naming it, and the caller decides whether to go on. Errors wrap
// ErrTooLarge (a bound was hit: 16 MiB per OSV record, 1 MiB per YAML
// document, 2^20 values per record with YAML aliases expanded, 64 MiB
// declared per zip member, 100,000 zip members, 4 GiB decompressed per zip,
// 16 MiB per secdb JSON file, 256 MiB per KEV or decompressed EPSS feed,
// 1 MiB per line),
// ErrFormat (malformed input, including nesting deeper than the decoders
// allow) or ErrUnknownRelease (a Debian codename missing from the table).
// Multi-record parsers take a callback that is called from the caller's
// goroutine, one record at a time, in input order; WalkOSV and ReadOSVZip
// parse on GOMAXPROCS goroutines behind that ordered callback.
//
// Package names are kept as published; NormalizeName gives the key to store
// and look them up by.
//
// Imported by the vulnerability database (vulndb) and the matcher (vuln).
package advisory
