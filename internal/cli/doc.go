// Package cli is the vigil command line: argument parsing, subcommand
// dispatch and output. Run takes its streams and arguments explicitly so the
// whole CLI runs in-process in tests. It returns errors; cmd/vigil alone
// turns them into exit codes.
package cli
