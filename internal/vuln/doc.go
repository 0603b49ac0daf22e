// Package vuln finds the known vulnerabilities of an inventory: it matches
// packages against advisory data with each ecosystem's version ordering,
// merges aliases so one vulnerability of one package counts once, grades
// severity from CVSS vectors, ranks risk (severity, EPSS, KEV, fix
// availability, exposure) and works out the smallest upgrade that fixes a
// package.
//
// Find is the entry point: inventory in, Report out. One file per concept:
// compare.go (version ordering per ecosystem, OSV-SCALIBR's semantic
// package), ecosystem.go (which advisories a package is looked up in),
// ranges.go (OSV range evaluation), merge.go (aliases), severity.go
// (CVSS), risk.go (docs/risk.md), fix.go (smallest fixing upgrade),
// suppress.go and file.go (ignore files), gosym.go (Go binary symbols for
// reachability).
//
// It reads advisories through the small Source interface (implemented by
// package vulndb); it does not log and does no network I/O. Any package
// may import it; the agent need not (matching runs where the database is).
package vuln
