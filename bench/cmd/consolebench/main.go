// Command consolebench is the Go half of bench/console.sh, the page-time
// benchmark of the web console at the scale of issue 8 (100,000 assets,
// 1,000,000 findings; see bench/CONSOLE.md):
//
//	consolebench seed    -cache DIR [sizes]          fill (or reuse) a SQLite store; prints its directory
//	consolebench measure -url URL -seed DIR -out FILE [-n N]   log in and time every page and API call
//	consolebench report  -seed DIR -run DIR -out FILE          write CONSOLE.md
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "consolebench:", err)
		os.Exit(1)
	}
}

var commands = []string{"seed", "measure", "report"}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("want a subcommand: %s", strings.Join(commands, ", "))
	}
	switch args[0] {
	case "seed":
		return runSeed(ctx, args[1:], stdout, stderr)
	case "measure":
		return runMeasure(ctx, args[1:], stdout, stderr)
	case "report":
		return runReport(args[1:], stderr)
	}
	return fmt.Errorf("unknown subcommand %q (want %s)", args[0], strings.Join(commands, ", "))
}
