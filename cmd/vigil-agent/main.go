// Command vigil-agent is Vigil's host agent: it enrolls with a Vigil server
// once, then streams the host's inventory and events over mTLS. All logic
// is in internal/agent; this file parses flags, applies the resource caps
// and maps the outcome to an exit code.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/containers"
	"github.com/vigil-sec/vigil/internal/guard"
	"github.com/vigil-sec/vigil/internal/inventory"
	"github.com/vigil-sec/vigil/internal/sensor"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// The heap profiler samples one allocation per 512 KiB by default and
// keeps every sampled stack for the process's life (~2 MiB in an idle
// agent, and its stack walks page in the binary's function tables). The
// agent samples only when a heap profile is asked for.
func init() {
	if os.Getenv("VIGIL_AGENT_HEAPPROFILE") == "" {
		runtime.MemProfileRate = 0
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := cpuProfile(os.Getenv("VIGIL_AGENT_CPUPROFILE"))
	err := run(ctx, os.Args[1:])
	stopProfile()
	heapProfile(os.Getenv("VIGIL_AGENT_HEAPPROFILE"))
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "vigil-agent:", err)
		os.Exit(1)
	}
}

// cpuProfile writes a CPU profile of the agent's whole life to path when
// it is set ($VIGIL_AGENT_CPUPROFILE): how bench/runtime.sh's overhead is
// taken apart. It returns the function that ends the profile.
func cpuProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vigil-agent: cpu profile:", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// heapProfile writes the heap profile at exit to path when it is set
// ($VIGIL_AGENT_HEAPPROFILE): how the agent's memory is taken apart.
func heapProfile(path string) {
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("heap").WriteTo(f, 0)
		f.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vigil-agent: heap profile:", err)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("vigil-agent", flag.ContinueOnError)
	var (
		showVersion = fs.Bool("version", false, "print the version and exit")
		server      = fs.String("server", os.Getenv("VIGIL_SERVER"), "server agent address host:port ($VIGIL_SERVER)")
		serverName  = fs.String("server-name", "", "TLS name to verify on the server certificate (default: the host of --server)")
		token       = fs.String("token", os.Getenv("VIGIL_AGENT_TOKEN"), "enrollment token, needed for the first start only ($VIGIL_AGENT_TOKEN)")
		caPin       = fs.String("ca-sha256", os.Getenv("VIGIL_CA_SHA256"), "SHA-256 fingerprint of the server's CA certificate, checked at enrollment")
		state       = fs.String("state", "/var/lib/vigil-agent", "state directory: identity, CA certificate, spool")
		hostRoot    = fs.String("host-root", "/", "root of the host to inventory (/host when run in a container with the host mounted)")
		dockerSock  = fs.String("docker-socket", "", "Docker Engine socket (default /var/run/docker.sock under --host-root)")
		spoolMB     = fs.Int64("spool-mb", 64, "bound of the on-disk spool used while the server is unreachable, in MiB")
		maxCPU      = fs.Float64("max-cpu", 0.05, "CPU cap as a fraction of one core, enforced with a cgroup v2 when possible (0: none)")
		maxMemory   = fs.String("max-memory", "64MiB", "soft memory limit (GOMEMLIMIT), e.g. 64MiB")
		ringBuffer  = fs.String("ring-buffer", "2MiB", "the runtime sensor's ring buffer, a power of two (larger rides out longer stalls of the agent; counts twice in its RSS)")
		metricsAddr = fs.String("metrics-addr", "", "serve Prometheus /metrics on this address (e.g. 127.0.0.1:9464)")
		logLevel    = fs.String("log-level", "info", "debug, info, warn or error")
		runtimeOn   = fs.Bool("runtime", true, "runtime protection: watch processes, files and connections with the eBPF sensor (degraded mode without eBPF) and raise alerts")
		rulesDir    = fs.String("rules", "", "a directory of runtime rule files laid over the built-in rules, reloaded on change")
		response    = fs.String("response", guard.ResponseDryRun, "rule actions (kill, quarantine, isolate): off, dry-run (record what would be done) or on")
		alertLog    = fs.String("alert-log", "", "JSON-lines file every alert is appended to, rotated by size (default alerts.jsonl in --state; \"-\" for none)")
		standalone  = fs.Bool("standalone", false, "no server: run runtime protection only and print alerts as JSON lines on stdout")
		labels      = map[string]string{}
	)
	// Watched paths beyond the built-in ones (sensor.Default*Paths):
	// an application's own secrets, its plugin directories.
	var watch, watchReads, watchExec []string
	fs.Func("watch", "a path prefix whose writes, unlinks, renames, chmods, links and truncations are reported, added to the built-in ones; repeatable ('*' matches one path component)", func(v string) error {
		watch = append(watch, v)
		return nil
	})
	fs.Func("watch-reads", "a path prefix whose every open, reads included, is reported (your own credentials and keys), added to the built-in ones; repeatable", func(v string) error {
		watchReads = append(watchReads, v)
		return nil
	})
	fs.Func("watch-exec", "a directory where making a file executable is reported, added to /tmp, /var/tmp and /dev/shm; repeatable", func(v string) error {
		watchExec = append(watchExec, v)
		return nil
	})
	fs.Func("label", "KEY=VALUE label for this host and its containers, repeatable (environment=production: the console filters by environment)", func(v string) error {
		k, val, ok := strings.Cut(v, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return fmt.Errorf("want KEY=VALUE, got %q", v)
		}
		if len(labels) >= 32 {
			return errors.New("at most 32 labels")
		}
		labels[strings.TrimSpace(k)] = strings.TrimSpace(val)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Printf("vigil-agent %s\n", version)
		return nil
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(*logLevel))); err != nil {
		return fmt.Errorf("bad --log-level %q", *logLevel)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	inventory.RouteExtractorLog(log)
	if *server == "" && !*standalone {
		return errors.New("--server is required (or --standalone)")
	}
	if *standalone && !*runtimeOn {
		return errors.New("--standalone runs runtime protection only; it cannot be combined with --runtime=false")
	}
	if err := applyCaps(*maxCPU, *maxMemory, log); err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if *metricsAddr != "" {
		ln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			return fmt.Errorf("metrics listener: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go hs.Serve(ln)
		defer hs.Close()
	}
	sock := *dockerSock
	if sock == "" {
		sock = filepath.Join(*hostRoot, "var/run/docker.sock")
	}
	var guardOpts *guard.Options
	if *runtimeOn {
		logPath := *alertLog
		switch logPath {
		case "":
			logPath = filepath.Join(*state, "alerts.jsonl")
		case "-":
			logPath = ""
		}
		if logPath != "" {
			if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
				return fmt.Errorf("--alert-log: %w", err)
			}
		}
		ring, err := parseBytes(*ringBuffer) // the sensor checks it is a power of two
		if err != nil || ring > 1<<30 {
			return fmt.Errorf("--ring-buffer %q: want a size up to 1GiB, e.g. 2MiB", *ringBuffer)
		}
		guardOpts = &guard.Options{
			Sensor: sensor.Options{
				RingBufferSize: int(ring), Resolver: &sensor.InventoryResolver{Options: containers.Options{DockerSocket: sock}},
				WatchedPaths: slices.Concat(sensor.DefaultWatchedPaths, watch),
				ReadPaths:    slices.Concat(sensor.DefaultReadPaths, watchReads),
				ExecPaths:    slices.Concat(sensor.DefaultExecPaths, watchExec),
			},
			RulesDir:      *rulesDir,
			Response:      *response,
			QuarantineDir: filepath.Join(*state, "quarantine"),
			AlertLog:      logPath,
		}
	}
	if *standalone {
		enc := json.NewEncoder(os.Stdout)
		var mu sync.Mutex
		guardOpts.Sinks = append(guardOpts.Sinks, guard.SinkFunc(func(al *guard.Alert) error {
			mu.Lock()
			defer mu.Unlock()
			return enc.Encode(al)
		}))
		g, err := startGuard(*guardOpts, reg, log)
		if err != nil {
			return err
		}
		defer g.Close()
		return g.Run(ctx)
	}
	hostname, _ := os.Hostname()
	machineID, _ := os.ReadFile(filepath.Join(*hostRoot, "etc/machine-id"))
	collector := &agent.HostCollector{Root: *hostRoot, Containers: containers.Options{DockerSocket: sock}, Logger: log, Labels: labels}
	a, err := agent.New(agent.Options{
		Server: *server, ServerName: *serverName, Token: *token, CAPin: *caPin, StateDir: *state,
		Version: version, Hostname: hostname, MachineID: strings.TrimSpace(string(machineID)),
		Collect: collector.Collect, SpoolBytes: *spoolMB << 20, Logger: log, Registerer: reg,
	})
	if err != nil {
		return err
	}
	defer a.Close()
	if guardOpts == nil {
		return a.Run(ctx)
	}
	guardOpts.Sinks = append(guardOpts.Sinks, a.AlertSink())
	g, err := startGuard(*guardOpts, reg, log)
	if err != nil {
		return err
	}
	defer g.Close()
	// The agent and runtime protection run side by side; either ending
	// ends both.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- a.Run(ctx) }()
	go func() { errc <- g.Run(ctx) }()
	err = <-errc
	cancel()
	if err2 := <-errc; err == nil || errors.Is(err, context.Canceled) {
		err = err2
	}
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// startGuard starts runtime protection and says which sensor mode it got:
// a degraded sensor is reported, never silent.
func startGuard(opts guard.Options, reg prometheus.Registerer, log *slog.Logger) (*guard.Guard, error) {
	g, err := guard.New(opts)
	if err != nil {
		return nil, fmt.Errorf("runtime protection: %w", err)
	}
	reg.MustRegister(agent.GuardCollector{G: g})
	log.Info("runtime protection", "sensor", g.Mode(), "rules", len(g.Rules()), "response", opts.Response)
	if strings.HasPrefix(g.Mode(), "degraded") {
		log.Warn("runtime protection is degraded: eBPF unavailable, watching process starts only", "mode", g.Mode())
	}
	// Loading the programs (the kernel's BTF) and compiling the rules
	// leave tens of MiB of garbage and page in code the agent will not run
	// again: give both back now, not minutes later.
	agent.ReleaseMemory()
	return g, nil
}

// applyCaps sets the soft memory limit and the CPU cap. The CPU cap moves
// the agent into its own cgroup v2 with cpu.max; where that is impossible
// (not root, no cgroup v2, already confined by systemd's CPUQuota) it says
// so and runs with GOMAXPROCS=1 only.
func applyCaps(cpu float64, memory string, log *slog.Logger) error {
	if memory != "" {
		n, err := parseBytes(memory)
		if err != nil {
			return fmt.Errorf("--max-memory: %w", err)
		}
		debug.SetMemoryLimit(n)
	}
	runtime.GOMAXPROCS(1)
	if cpu <= 0 {
		return nil
	}
	if err := agent.LimitCPU(cpu); err != nil {
		log.Warn("CPU cap not enforced by a cgroup; running on one thread only", "cap", cpu, "reason", err)
	}
	return nil
}

func parseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			var n int64
			if _, err := fmt.Sscanf(num, "%d", &n); err != nil || n <= 0 {
				return 0, fmt.Errorf("bad size %q", s)
			}
			return n * u.mult, nil
		}
	}
	return 0, fmt.Errorf("bad size %q (want e.g. 64MiB)", s)
}
