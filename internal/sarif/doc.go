// Package sarif writes SARIF 2.1.0 logs (the OASIS Static Analysis Results
// Interchange Format, as read by GitHub code scanning and most CI systems)
// for every Vigil engine: vulnerabilities now, misconfigurations and secrets
// later.
//
// It is generic over findings: callers describe their rules and results with
// the small Rule and Result types, and Write turns them into one run of one
// tool, deterministically (the same rules and results in any order give the
// same bytes). Adapters from an engine's model live with that engine's
// renderers (package report for vulnerabilities), so this package imports
// nothing of Vigil but the shared finding model.
//
// It does no I/O beyond the writer it is given and never logs.
package sarif
