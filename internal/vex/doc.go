// Package vex reads and writes VEX (Vulnerability Exploitability eXchange)
// documents: statements that a product is or is not affected by a
// vulnerability.
//
// Load reads OpenVEX (v0.2.0, and v0.0.1's plain-string vulnerabilities)
// and CycloneDX VEX (a CycloneDX JSON document whose vulnerabilities carry
// an analysis) into a Set, which suppresses the matches its statements say
// do not apply: it is a vuln.Suppressor. WriteOpenVEX writes a
// vulnerability report as an OpenVEX document that Load reads back to the
// same suppressions.
//
// Documents are untrusted input: reads are bounded (MaxDocumentSize),
// malformed documents give errors wrapping ErrMalformed, never panics, and
// Load has a fuzz test. The package does no I/O beyond the reader and
// writer it is given and never logs.
//
// Imported by the CLI and the server, which hand a Set to the matcher.
package vex
