// Package advisory is Vigil's model of vulnerability advisory data and the
// parsers of the public formats it comes in: the OSV schema (JSON and YAML,
// single files, directories and per-ecosystem all.zip exports), the Debian
// security tracker's DSA/DLA lists, Alpine's secdb, FIRST's EPSS scores and
// CISA's Known Exploited Vulnerabilities catalogue.
//
// Parsers read untrusted bytes: every read is bounded and every parser has a
// fuzz test. They do not log; a record that cannot be parsed is returned as
// an error naming it, and the caller decides whether to go on.
//
// Imported by the vulnerability database (vulndb) and the matcher (vuln).
package advisory
