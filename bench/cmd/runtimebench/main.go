// Command runtimebench supports bench/runtime.sh, the runtime sensor
// overhead benchmark (issue 5): the loads whose slow-down is measured, the
// helpers that watch the agent, and the report.
//
//	runtimebench exec-loop    -n N [-w W]            fork+exec /bin/true N times in all, from W workers
//	runtimebench open-loop    -n N -path P [-w W]    open+close P N times per worker
//	runtimebench connect-loop -n N [-w W]            TCP connect+close to a loopback listener it starts, N in all
//	runtimebench wait-agent   -pid PID -log FILE -url URL [-timeout D]   wait until the agent serves metrics and says its sensor mode; exit 3 if degraded
//	runtimebench scrape       -url URL -out FILE     save the agent's /metrics
//	runtimebench idle         -pid PID -url URL -window D -out FILE       the agent's CPU and RSS over an idle window
//	runtimebench report       -work DIR -out FILE    write RUNTIME.md; print the summary line
//
// The loops print one line: "elapsed_s ops errors" (seconds from the first
// operation to the last, measured inside the process so that its own start
// is not counted).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// errDegraded makes wait-agent exit 3: the script must not report numbers.
var errDegraded = errors.New("the agent's sensor is degraded")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, errDegraded):
		fmt.Fprintln(os.Stderr, "runtimebench:", err)
		os.Exit(3)
	default:
		fmt.Fprintln(os.Stderr, "runtimebench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("want a command: exec-loop, open-loop, connect-loop, wait-agent, scrape, idle, report")
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "exec-loop", "open-loop", "connect-loop":
		return runLoop(ctx, cmd, args, stdout, stderr)
	case "wait-agent":
		return runWaitAgent(ctx, args, stdout, stderr)
	case "scrape":
		return runScrape(ctx, args, stderr)
	case "idle":
		return runIdle(ctx, args, stdout, stderr)
	case "report":
		return runReport(args, stdout, stderr)
	}
	return fmt.Errorf("unknown command %q", cmd)
}
