// Package report renders scan results for people and programs: a table
// grouped by ecosystem, and Vigil's versioned JSON document (its schema is
// in docs/formats/inventory-json.md); for vulnerability reports, a table
// riskiest first, the vigil.vulnerabilities/v1 JSON document and SARIF
// (through package sarif), described in docs/formats/vuln-json.md. SBOM
// formats live in package sbom, VEX in package vex.
//
// Imported by the CLI and the server; it does no I/O beyond the writer it is
// given.
package report
