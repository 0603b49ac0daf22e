// Package report renders scan results for people and programs: a table
// grouped by ecosystem, and Vigil's versioned JSON document (its schema is
// in docs/formats/inventory-json.md). SBOM formats live in package sbom.
//
// Imported by the CLI and the server; it does no I/O beyond the writer it is
// given.
package report
