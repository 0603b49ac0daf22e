// Command agentsim is the helper of bench/backbone.sh, the scale benchmark
// of the server (issue 4). It drives thousands of simulated agents from
// one process against a running `vigil server`, each with the real
// protocol and real mutual TLS (its own key, certificate, connection and
// stream), measures enrollment, connection, snapshot, heartbeat, delta and
// event ingest, runs an API query load over the resulting assets, and
// writes BACKBONE.md from the results.
//
//	agentsim run    -agent-addr HOST:PORT -api URL -ca-sha256 HEX [flags] -out result.json
//	agentsim report -out BACKBONE.md -env env.tsv result.json... [-light light.json]
//
// The process raises its open-file limit (RLIMIT_NOFILE) to the hard
// limit, and the hard limit too when it may (root): every agent holds one
// TCP connection.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: agentsim run|report [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = runCmd(ctx, os.Args[2:])
	case "report":
		err = reportCmd(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "agentsim:", err)
		}
		os.Exit(1)
	}
}

func numCPU() int { return runtime.NumCPU() }

func runCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("agentsim run", flag.ContinueOnError)
	var c config
	fs.StringVar(&c.label, "label", "sqlite", "name of this run in the report (sqlite, postgres)")
	fs.StringVar(&c.agentAddr, "agent-addr", "127.0.0.1:8443", "the server's agent listener")
	fs.StringVar(&c.serverName, "server-name", "", "TLS name to verify (default: the host of -agent-addr)")
	fs.StringVar(&c.apiURL, "api", "http://127.0.0.1:8080", "the server's API")
	fs.StringVar(&c.adminUser, "admin", "admin", "admin user")
	fs.StringVar(&c.caPin, "ca-sha256", "", "SHA-256 fingerprint of the server's CA (required)")
	fs.IntVar(&c.agents, "agents", 10_000, "simulated agents")
	fs.IntVar(&c.enrollConcurrency, "enroll-concurrency", 16, "enrollments in flight")
	fs.IntVar(&c.connectConcurrency, "connect-concurrency", 64, "first connections in flight (the ramp)")
	fs.IntVar(&c.snapConcurrency, "snapshot-concurrency", 8, "initial snapshots unacknowledged at once, fleet-wide")
	fs.DurationVar(&c.heartbeat, "heartbeat", 0, "heartbeat interval (0: what the server says, 30 s by default)")
	fs.DurationVar(&c.deltaEvery, "delta-interval", 0, "inventory delta interval per agent (0: the server's inventory interval, 5 min by default)")
	fs.BoolVar(&c.spreadHeartbeats, "spread", true, "spread each agent's first heartbeat over the interval")
	fs.Float64Var(&c.eventsRate, "events-rate", 20_000, "events per second, fleet-wide")
	fs.IntVar(&c.eventsBatch, "events-batch", 50, "events per message")
	fs.IntVar(&c.window, "window", 32, "numbered messages an agent sends ahead of acknowledgements")
	fs.DurationVar(&c.warmup, "warmup", 30*time.Second, "steady state before measuring")
	fs.DurationVar(&c.duration, "duration", 5*time.Minute, "measurement window")
	fs.DurationVar(&c.setupTimeout, "setup-timeout", time.Hour, "bound on connecting and the initial snapshots")
	fs.Float64Var(&c.queryRate, "query-rate", 10, "API asset queries per second during the window (0: none)")
	fs.IntVar(&c.queryClients, "query-clients", 16, "concurrent API clients (enough that the client is never the queue)")
	fs.IntVar(&c.serverPID, "server-pid", 0, "the server's PID, to measure its CPU and memory")
	fs.IntVar(&c.watchUID, "watch-uid", -1, "also measure CPU and RSS of this user's processes (the PostgreSQL server)")
	fs.StringVar(&c.out, "out", "", "write the result as JSON here")
	fs.Uint64Var(&c.shape.seed, "seed", 1, "seed of the synthetic fleet")
	fs.IntVar(&c.shape.minPkgs, "min-packages", 500, "fewest packages per host")
	fs.IntVar(&c.shape.maxPkgs, "max-packages", 2000, "most packages per host")
	fs.IntVar(&c.shape.procs, "processes", 120, "processes per host (plus 15 ports, 30 users, 35 services)")
	fs.IntVar(&c.shape.containers, "containers", 5, "containers per host (assets without packages)")
	fs.IntVar(&c.shape.images, "images", 4, "images per host (assets without packages)")
	fs.IntVar(&c.shape.eventBytes, "event-bytes", 200, "approximate JSON size of one event")
	fs.IntVar(&c.shape.deltaProcs, "delta-processes", 3, "processes that end and start between two collections")
	fs.Float64Var(&c.shape.deltaPkgShare, "delta-upgrade-share", 0.1, "share of deltas that upgrade packages")
	fs.IntVar(&c.shape.deltaPkgsPerUpgrade, "delta-upgrades", 3, "packages upgraded by such a delta")
	fs.Float64Var(&c.shape.containerChurnChance, "delta-container-churn", 0.05, "share of deltas that replace a container")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c.adminPass = os.Getenv("VIGIL_ADMIN_PASSWORD")
	switch {
	case c.caPin == "":
		return errors.New("-ca-sha256 is required")
	case c.adminPass == "":
		return errors.New("$VIGIL_ADMIN_PASSWORD is required")
	case c.agents < 1, c.eventsBatch < 1, c.window < 1, c.enrollConcurrency < 1, c.connectConcurrency < 1, c.snapConcurrency < 1:
		return errors.New("-agents, -events-batch, -window and the concurrencies must be positive")
	case c.shape.minPkgs < 0 || c.shape.maxPkgs < c.shape.minPkgs:
		return errors.New("bad -min-packages/-max-packages")
	}
	lim, err := raiseNoFile()
	if err != nil {
		fmt.Fprintf(os.Stderr, "agentsim: open-file limit: %v\n", err)
	}
	if lim < uint64(c.agents)+1000 {
		fmt.Fprintf(os.Stderr, "agentsim: warning: open-file limit %d is below %d agents + 1000\n", lim, c.agents)
	}
	s := &sim{cfg: c, log: os.Stderr, pkgs: newPkgCache(), snapSem: make(chan struct{}, c.snapConcurrency)}
	res, err := s.run(ctx)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if c.out == "" {
		_, err = os.Stdout.Write(append(b, '\n'))
		return err
	}
	return os.WriteFile(c.out, append(b, '\n'), 0o644)
}

// raiseNoFile raises RLIMIT_NOFILE: the soft limit to the hard one, and
// both to 1<<20 when the process may (root, or CAP_SYS_RESOURCE). It
// returns the soft limit in force.
func raiseNoFile() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	want := syscall.Rlimit{Cur: 1 << 20, Max: 1 << 20}
	if want.Max < l.Max {
		want = syscall.Rlimit{Cur: l.Max, Max: l.Max}
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err == nil {
		return want.Cur, nil
	}
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return l.Cur, err
	}
	return l.Cur, nil
}
