// Package sbom writes and reads software bills of materials: CycloneDX
// (1.5 and 1.6 JSON) and SPDX 2.3 JSON out of an inventory.Result, and
// CycloneDX 1.2–1.7 or SPDX 2.1–2.3 JSON documents, from Vigil or from other
// tools, back into one.
//
// It owns the SBOM formats and nothing else: what Vigil puts where in each
// format (its "vigil:" properties and annotations) is documented in
// docs/formats/sbom.md, and only this package writes or reads it. Documents
// are untrusted input: reads are bounded (MaxDocumentSize), nesting is
// bounded, and malformed documents give errors, never panics.
//
// Imported by the CLI and the server. It does no I/O beyond the reader and
// writer it is given, never logs, and does not import SCALIBR.
package sbom
