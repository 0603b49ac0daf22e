package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/bench/internal/procstat"
)

// The goals.
const (
	goalAgents  = 10_000
	goalEvents  = 20_000.0
	goalAssets  = 100_000
	goalP99ms   = 200.0
	goalIdleCPU = 1.0 // % of one core
	goalRSSMiB  = 50.0
	// goalSensorRSSMiB is issue 5's RSS budget for the agent running its
	// runtime sensor.
	goalSensorRSSMiB = 80.0
	eventsTolFrac    = 0.98 // share of the goal rate the window average must reach
)

func reportCmd(args []string) error {
	fs := flag.NewFlagSet("agentsim report", flag.ContinueOnError)
	out := fs.String("out", "bench/BACKBONE.md", "the report to write")
	env := fs.String("env", "", "env.tsv: key<TAB>value lines describing the run (date, machine, versions)")
	notes := fs.String("notes", "", "markdown appended as the report's analysis")
	var lights multiFlag
	fs.Var(&lights, "light", "an agentlight result (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var results []*Result
	for _, p := range fs.Args() {
		var r Result
		if err := readJSON(p, &r); err != nil {
			return err
		}
		results = append(results, &r)
	}
	var lr []*procstat.Idle
	for _, p := range lights {
		var r procstat.Idle
		if err := readJSON(p, &r); err != nil {
			return err
		}
		lr = append(lr, &r)
	}
	kv := map[string]string{}
	var order []string
	if *env != "" {
		var err error
		if kv, order, err = readEnv(*env); err != nil {
			return err
		}
	}
	var note []byte
	if *notes != "" {
		var err error
		if note, err = os.ReadFile(*notes); err != nil {
			return err
		}
	}
	var b bytes.Buffer
	writeReport(&b, kv, order, results, lr, note)
	return os.WriteFile(*out, b.Bytes(), 0o644)
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func readEnv(path string) (map[string]string, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	kv := map[string]string{}
	var order []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			continue
		}
		if _, dup := kv[k]; !dup {
			order = append(order, k)
		}
		kv[k] = v
	}
	return kv, order, sc.Err()
}

func verdict(ok bool, format string, args ...any) string {
	s := fmt.Sprintf(format, args...)
	if ok {
		return "met (" + s + ")"
	}
	return "**not met** (" + s + ")"
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

func goalConnected(r *Result) string {
	w := r.Window
	s := fmt.Sprintf("%d of %d agents connected throughout the %.0f s window, %d reported silent, %d reconnects",
		w.ConnectedMin, r.Config.Agents, w.Seconds, w.SilentAgents, w.Reconnects)
	if w.SilentError != "" {
		s += "; silent count failed: " + w.SilentError
	}
	if r.Config.Agents < goalAgents {
		return "– (quick run, not the goal's scale: " + s + ")"
	}
	return verdict(w.ConnectedMin >= goalAgents && w.SilentAgents == 0 && w.SilentError == "", "%s", s)
}

func goalEventsRate(r *Result) string {
	w := r.Window
	lo := 0.0
	if len(w.EventsPerSec10s) > 0 {
		lo = slices.Min(w.EventsPerSec10s)
	}
	s := fmt.Sprintf("%.0f events/s acknowledged on average over %.0f s, lowest 10-s bucket %.0f/s, %d shed by the simulator",
		w.EventsPerSecond, w.Seconds, lo, w.EventsShed)
	if r.Config.EventsRate < goalEvents {
		return fmt.Sprintf("– (offered %.0f/s, below the goal: %s)", r.Config.EventsRate, s)
	}
	return verdict(w.EventsPerSecond >= eventsTolFrac*goalEvents && w.EventsShed == 0, "%s", s)
}

func goalAPI(r *Result) string {
	if r.Query == nil {
		if r.QueryError != "" {
			return "**not measured** (" + r.QueryError + ")"
		}
		return "– (no query load)"
	}
	q := r.Query
	slow, best := 0, ""
	for _, name := range q.Order {
		if q.Shapes[name].P99 >= goalP99ms {
			slow++
		}
		if best == "" || q.Shapes[name].P99 < q.Shapes[best].P99 {
			best = name
		}
	}
	s := fmt.Sprintf("p99 %.0f ms over %d queries, %d assets in the store, %d errors", q.All.P99, q.Requests, r.Window.AssetsInStore, q.Errors)
	if q.ServiceAll.N > 0 {
		s += fmt.Sprintf("; service time p50 %.0f ms, p99 %.0f ms", q.ServiceAll.P50, q.ServiceAll.P99)
	}
	if slow > 0 {
		s += fmt.Sprintf("; %d of %d shapes at or over 200 ms, the best %q at %.0f ms", slow, len(q.Order), best, q.Shapes[best].P99)
	}
	if r.Window.AssetsInStore < goalAssets {
		return "– (fewer assets than the goal's 100,000: " + s + ")"
	}
	return verdict(q.All.P99 < goalP99ms && q.Errors == 0, "%s", s)
}

func writeReport(b *bytes.Buffer, env map[string]string, order []string, results []*Result, lights []*procstat.Idle, notes []byte) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("# Backbone scale and agent lightness benchmark\n\n")
	p("Written by `bash bench/backbone.sh` (see the end of this page for how it works); the analysis at the end is `bench/cmd/agentsim/notes.md`. Do not edit by hand.\n\n")
	for _, k := range order {
		v := env[k]
		if strings.Contains(v, "\n") || strings.Contains(v, "\\n") {
			p("- %s:\n\n```\n%s\n```\n\n", k, strings.ReplaceAll(v, "\\n", "\n"))
			continue
		}
		p("- %s: %s\n", k, v)
	}
	p("\n## Goals (issue 4)\n\n")
	if len(results) > 0 {
		p("| goal |")
		for _, r := range results {
			p(" %s |", r.Label)
		}
		p("\n|---|")
		for range results {
			p("---|")
		}
		p("\n")
		row := func(name string, f func(*Result) string) {
			p("| %s |", name)
			for _, r := range results {
				p(" %s |", f(r))
			}
			p("\n")
		}
		row("10,000 connected agents, 30-s heartbeats and deltas", goalConnected)
		row("20,000 ingested events/s, sustained", goalEventsRate)
		row("API p99 < 200 ms for asset queries over 100,000 assets, during ingest", goalAPI)
		p("\n")
	}
	for _, l := range lights {
		if !strings.HasPrefix(l.Label, "vigil-agent") {
			continue
		}
		p("Agent lightness (%s: the real `vigil-agent`, idle %.0f s after its first inventory was acknowledged):\n\n", l.Label, l.IdleSeconds)
		p("- idle CPU < 1%% of one core: %s\n", verdict(l.CPUPct < goalIdleCPU, "%.3f%% of one core", l.CPUPct))
		parts := "" // older results have no breakdown
		if l.RSSMaxAnonKiB+l.RSSMaxFileKiB > 0 {
			parts = fmt.Sprintf(" (%.1f MiB anonymous, %.1f MiB file-backed: the executable's pages and, with the sensor, the eBPF ring buffer's mapping",
				mib(l.RSSMaxAnonKiB), mib(l.RSSMaxFileKiB))
			if l.RSSMaxShmemKiB > 0 {
				parts += fmt.Sprintf("; %.1f MiB shared", mib(l.RSSMaxShmemKiB))
			}
			parts += ")"
		}
		p("- RSS < 50 MiB: %s\n", verdict(mib(l.RSSMaxKiB) < goalRSSMiB,
			"%.1f MiB average and %.1f MiB highest during the idle window%s; %.1f MiB peak (VmHWM) including the first full inventory", mib(l.RSSAvgKiB), mib(l.RSSMaxKiB), parts, mib(l.HWMKiB)))
		if !strings.Contains(l.Command, "--runtime=false") {
			// Issue 5 adds the eBPF sensor to this binary, on by default,
			// with a budget of its own for the agent that runs it.
			p("- RSS < 80 MiB, issue 5's budget for the agent with its runtime sensor (on here): %s\n",
				verdict(mib(l.RSSMaxKiB) < goalSensorRSSMiB, "%.1f MiB highest during the idle window", mib(l.RSSMaxKiB)))
		}
		p("\n")
	}

	for _, r := range results {
		p("## Run `%s`\n\n", r.Label)
		c := r.Config
		p("%d agents; each host %d–%d packages, %d processes + 80 other items, %d containers and %d images (assets without packages); heartbeat %s; inventory delta every %s per agent; %.0f events/s fleet-wide in messages of %d events (~%d bytes of JSON each); up to %d unacknowledged messages per agent; %d initial snapshots in flight fleet-wide; warm-up %.0f s, window %.0f s.\n\n",
			c.Agents, c.Packages[0], c.Packages[1], c.Processes, c.Containers, c.Images, secs(c.HeartbeatSeconds), secs(c.DeltaSeconds),
			c.EventsRate, c.EventsBatch, c.EventBytes, c.Window, c.SnapshotParallel, c.WarmupSeconds, c.DurationSeconds)
		p("| phase | numbers |\n|---|---|\n")
		p("| enrollment (%d at a time, one TLS connection each) | %d ok, %d failed in %.1f s (%.0f/s); latency %s |\n",
			c.EnrollConcurrency, r.Enroll.OK, r.Enroll.Failed, r.Enroll.Seconds, float64(r.Enroll.OK)/max(r.Enroll.Seconds, 0.001), lat(r.Enroll.Latency))
		p("| connection (Connect, Hello → Welcome) | %d connected in %.1f s; latency %s |\n", r.Connect.Connected, r.Connect.Seconds, lat(r.Connect.Latency))
		p("| initial snapshots | %d acknowledged %.1f s after the first connection: %d assets, %d packages, %d items, %.0f MiB of protobuf (%.0f packages/s); ack latency %s |\n",
			r.Snapshot.Acked, r.Snapshot.Seconds, r.Snapshot.Assets, r.Snapshot.Packages, r.Snapshot.Items, float64(r.Snapshot.Bytes)/(1<<20),
			float64(r.Snapshot.Packages)/max(r.Snapshot.Seconds, 0.001), lat(r.Snapshot.Latency))
		w := r.Window
		p("| window: connections | %d at least, %d at the end; %d reconnects; %d agents silent per the server afterwards |\n", w.ConnectedMin, w.ConnectedEnd, w.Reconnects, w.SilentAgents)
		p("| window: heartbeats | %d sent (%.0f/s); time in Send %s (heartbeats are not acknowledged by the protocol) |\n", w.Heartbeats, float64(w.Heartbeats)/max(w.Seconds, 1), lat(w.HeartbeatSend))
		p("| window: inventory deltas | %d acknowledged (%.1f/s), %d skipped (window full); ack latency %s |\n", w.DeltasAcked, float64(w.DeltasAcked)/max(w.Seconds, 1), w.DeltasSkipped, lat(w.DeltaLatency))
		p("| window: events | %d offered, %d shed, %d acknowledged = **%.0f/s**; per 10 s: %s; ack latency %s |\n",
			w.EventsOffered, w.EventsShed, w.EventsAcked, w.EventsPerSecond, series(w.EventsPerSec10s), lat(w.EventsLatency))
		p("| server process | CPU %.0f%% of one core during the window (%.0f CPU-s for enrollment, connections and snapshots); RSS %.0f MiB peak (VmHWM), %.0f MiB highest during the window, %.0f MiB at the end |\n",
			r.Server.CPUWindowPct, r.Server.CPUSetupSeconds, mib(r.Server.RSSPeakKiB), mib(r.Server.RSSWindowMaxKiB), mib(r.Server.RSSEndKiB))
		if r.Postgres != nil {
			p("| PostgreSQL processes | CPU %.0f%% of one core during the window, counting only the processes alive at both ends (backends that ended in between are missed: a lower bound); RSS sum %.0f MiB at the end (shared buffers counted per process) |\n", r.Postgres.CPUWindowPct, mib(r.Postgres.RSSSumKiB))
		}
		p("| simulator process | CPU %.0f%% of one core during the window; RSS peak %.0f MiB |\n", r.Sim.CPUWindowPct, mib(r.Sim.RSSPeakKiB))
		p("| machine | %.0f%% of all %s CPUs busy during the window: the server %.0f%% and the simulator %.0f%% of one core, everything else (PostgreSQL when it is the store, other developers' work) %.0f%% |\n",
			r.MachineBusyWindowPct, strconv.Itoa(nprocOf(env)), r.Server.CPUWindowPct, r.Sim.CPUWindowPct, r.MachineBusyWindowPct*float64(nprocOf(env))-r.Server.CPUWindowPct-r.Sim.CPUWindowPct)
		if len(r.Errors) > 0 {
			keys := make([]string, 0, len(r.Errors))
			for k := range r.Errors {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			var parts []string
			for _, k := range keys {
				parts = append(parts, fmt.Sprintf("%s × %d (e.g. `%s`)", k, r.Errors[k], strings.ReplaceAll(r.ErrorExamples[k], "|", "\\|")))
			}
			p("| errors | %s |\n", strings.Join(parts, "; "))
		} else {
			p("| errors | none |\n")
		}
		p("\n")
		if q := r.Query; q != nil {
			p("API queries during the window: %.0f/s from %d clients, %d requests, %d errors, %d assets in the store. Latency from each query's scheduled start:\n\n", q.Rate, q.Clients, q.Requests, q.Errors, w.AssetsInStore)
			p("| query shape (`GET /api/v1/assets`) | n | p50 ms | p95 ms | p99 ms | max ms | service p50 ms | service p99 ms |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
			svc := func(x Summary, f func(Summary) float64) string {
				if x.N == 0 {
					return "–"
				}
				return fmt.Sprintf("%.1f", f(x))
			}
			p50 := func(x Summary) float64 { return x.P50 }
			p99 := func(x Summary) float64 { return x.P99 }
			for _, name := range q.Order {
				s := q.Shapes[name]
				v := q.ServiceShapes[name]
				p("| %s | %d | %.1f | %.1f | %.1f | %.1f | %s | %s |\n", name, s.N, s.P50, s.P95, s.P99, s.Max, svc(v, p50), svc(v, p99))
			}
			p("| **all** | %d | %.1f | %.1f | %.1f | %.1f | %s | %s |\n\n", q.All.N, q.All.P50, q.All.P95, q.All.P99, q.All.Max, svc(q.ServiceAll, p50), svc(q.ServiceAll, p99))
			p("*Service* times count from the request's own send; the others from the query's scheduled start (pages after the first: from their send).\n\n")
			if q.Error != "" {
				p("First query error: `%s`\n\n", q.Error)
			}
		} else if r.QueryError != "" {
			p("API query load failed: `%s`\n\n", r.QueryError)
		}
	}

	if len(lights) > 0 {
		p("## Agent lightness\n\n")
		p("| agent | version | startup s | idle window s | CPU s | CPU %% of one core | RSS avg MiB | RSS max MiB | VmHWM MiB | note |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
		for _, l := range lights {
			p("| %s | %s | %.1f | %.0f | %.2f | %.3f | %.1f | %.1f | %.1f | %s |\n", l.Label, l.Version, l.StartupSeconds, l.IdleSeconds, l.CPUSeconds, l.CPUPct,
				mib(l.RSSAvgKiB), mib(l.RSSMaxKiB), mib(l.HWMKiB), strings.ReplaceAll(l.Note, "|", "\\|"))
		}
		p("\n")
		for _, l := range lights {
			p("- %s: `%s`\n", l.Label, l.Command)
		}
		p("\n")
	}
	if len(notes) > 0 {
		b.Write(bytes.TrimSpace(notes))
		p("\n")
	}
}

// nprocOf is the machine's CPU count from the env file ("2 CPUs ..."),
// else this machine's.
func nprocOf(env map[string]string) int {
	var n int
	if _, err := fmt.Sscanf(env["Machine"], "%d CPUs", &n); err == nil && n > 0 {
		return n
	}
	return numCPU()
}

func secs(s float64) string {
	if s == 0 {
		return "as the server says"
	}
	return fmt.Sprintf("%.0f s", s)
}

func lat(s Summary) string {
	if s.N == 0 {
		return "–"
	}
	return fmt.Sprintf("p50 %s, p95 %s, p99 %s, max %s ms (n=%d)", ms(s.P50), ms(s.P95), ms(s.P99), ms(s.Max), s.N)
}

func ms(x float64) string {
	if x >= 100 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.1f", x)
}

func series(v []float64) string {
	if len(v) == 0 {
		return "–"
	}
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(parts, " ")
}
