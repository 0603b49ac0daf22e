// Package inventory finds the software installed in a filesystem: OS
// packages (dpkg, rpm, apk) and language packages (Go, npm, PyPI, Maven,
// Cargo, RubyGems, Composer, NuGet, ...), with where each came from.
//
// It owns Vigil's package model (Package, Location, Result) and the
// extraction engine that walks a filesystem and runs ecosystem extractors on
// the files they need. Extraction is built on OSV-SCALIBR's extractors; this
// package maps their output to Vigil's model, so nothing outside it imports
// SCALIBR.
//
// Imported by the CLI, the agent and the server. It never logs: per-file
// failures are returned as Unknowns in the Result.
package inventory
