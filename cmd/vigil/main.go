// Command vigil scans images, root filesystems, hosts and SBOMs, and (later)
// runs the Vigil server. All logic is in internal/cli; this file only maps
// the outcome to an exit code.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/vigil-sec/vigil/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes. They are part of Vigil's CLI contract (see README).
const (
	exitOK         = 0
	exitError      = 1 // the command failed; no trustworthy output
	exitUsage      = 2 // the command line was wrong
	exitIncomplete = 3 // output written, but part of the target was unreadable
	exitGate       = 4 // output written; vulnerabilities at or above --fail-on found
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &cli.Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Getenv: os.Getenv, Version: version,
	}, os.Args[1:])
	stop()
	os.Exit(code)
}

// run executes one command line and decides its exit code.
func run(ctx context.Context, env *cli.Env, args []string) int {
	return exitCode(cli.Run(ctx, env, args), env.Stderr)
}

func exitCode(err error, stderr io.Writer) int {
	var usage *cli.UsageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "vigil: %v\n", err)
		return exitUsage
	case errors.Is(err, cli.ErrGate):
		fmt.Fprintf(stderr, "vigil: %v\n", err)
		return exitGate
	case errors.Is(err, cli.ErrIncomplete):
		fmt.Fprintf(stderr, "vigil: %v\n", err)
		return exitIncomplete
	default:
		fmt.Fprintf(stderr, "vigil: %v\n", err)
		return exitError
	}
}
