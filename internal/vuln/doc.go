// Package vuln finds the known vulnerabilities of an inventory: it matches
// packages against advisory data with each ecosystem's version ordering,
// merges aliases so one vulnerability of one package counts once, grades
// severity from CVSS vectors, ranks risk (severity, EPSS, KEV, fix
// availability, exposure) and works out the smallest upgrade that fixes a
// package.
//
// It reads advisories through the small Source interface (implemented by
// package vulndb); it does not log and does no network I/O.
package vuln
