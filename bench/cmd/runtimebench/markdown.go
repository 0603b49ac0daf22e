package main

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// goals marks the goals of issue 5 with what was measured.
func (d *reportData) goals() []goal {
	var gs []goal
	if ls := d.loop("exec"); ls != nil {
		a, ok := ls.Added["agent"]
		gs = append(gs, goal{Name: fmt.Sprintf("fork+exec loop: under %g %% added time", goalExecPct),
			Measured: ls.addedNote("agent"), Met: ok && a < goalExecPct, Known: ok})
	}
	for _, n := range []string{"open-watched", "open-unwatched"} {
		if ls := d.loop(n); ls != nil {
			a, ok := ls.Added["agent"]
			gs = append(gs, goal{Name: fmt.Sprintf("%s: under %g %% added time", ls.title(), goalOpenPct),
				Measured: ls.addedNote("agent"), Met: ok && a < goalOpenPct, Known: ok})
		}
	}
	if c, ok := d.idle["cpu_pct"]; ok {
		v := atof(c)
		m := fmt.Sprintf("%.2f %% (over %.0f s", v, atof(d.idle["window_s"]))
		if ev, ok := d.idle["events"]; ok {
			m += fmt.Sprintf(", while other users' work made %s events", thousands(atoi(ev)))
		}
		gs = append(gs, goal{Name: fmt.Sprintf("idle agent: under %g %% of a core", goalIdleCPU),
			Measured: m + ")", Met: v < goalIdleCPU, Known: true})
	}
	var peak int64
	for _, ls := range d.loops {
		peak = max(peak, ls.peakKiB())
	}
	idleRSS := atoi(d.idle["rss_end_kb"])
	if peak > 0 || idleRSS > 0 {
		worst := max(peak, idleRSS)
		gs = append(gs, goal{Name: fmt.Sprintf("RSS under %g MiB (idle, and peak during the loops)", goalRSSMiB),
			Measured: fmt.Sprintf("idle %.0f MiB, peak %.0f MiB", mib(idleRSS), mib(peak)), Met: mib(worst) < goalRSSMiB, Known: true})
	}
	var (
		drops float64
		known bool
		parts []string
	)
	for _, ls := range d.loops {
		if ls.Name == "connect" {
			continue
		}
		if n, ok := ls.drops(); ok {
			drops += n
			known = true
			parts = append(parts, fmt.Sprintf("%s %.0f", ls.Name, n))
		}
	}
	if known {
		gs = append(gs, goal{Name: "zero ring-buffer drops during the flat-out exec and open/close loops",
			Measured: fmt.Sprintf("%.0f (%s)", drops, strings.Join(parts, ", ")), Met: drops == 0, Known: true})
	}
	if ls := d.loop("exec"); ls != nil {
		a, ok1 := ls.Added["agent"]
		b, ok2 := ls.Added["bpftrace"]
		if ok1 && ok2 {
			m := fmt.Sprintf("Vigil %s, bpftrace %s", pct(a), pct(b))
			if b > 0 {
				m += fmt.Sprintf(" (%.1f×)", a/b)
			}
			if s := ls.spread(); !math.IsNaN(s) && math.Abs(a) <= s && math.Abs(b) <= s {
				m += fmt.Sprintf("; both within the baseline's run-to-run spread of ±%.1f %%", s)
			}
			gs = append(gs, goal{Name: fmt.Sprintf("fork+exec loop: Vigil's added time within %g× bpftrace's", goalBPFRatio),
				Measured: m, Met: a <= goalBPFRatio*math.Max(b, 0), Known: true})
		}
	}
	return gs
}

// write writes the report and returns the one-line summary.
func (d *reportData) write(b *strings.Builder) string {
	e := d.env
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p("# Runtime sensor overhead\n\n")
	p("Written by `bash bench/runtime.sh` (issue 5); do not edit by hand.\n\n")
	memGiB := float64(atoi(e["mem_kb"])) / (1 << 20)
	p("- Date: %s; the run took %s s.\n", e["date"], e["duration_s"])
	p("- Machine: %s CPUs (nproc), %s; %.1f GiB RAM; Linux %s.\n", e["nproc"], e["cpu"], memGiB, e["kernel"])
	p("- Load average (1, 5, 15 min): %s at the start, %s after the idle window, %s at the end. ", e["loadavg_start"], e["load_idle"], e["loadavg_end"])
	p("The machine is shared: other users' work adds noise (and, for the agent, events: their processes are watched too). ")
	p("Each run's 1-minute load average is in the run directory's `times.tsv`.\n")
	p("- Agent: `vigil-agent %s` (%s", e["agent_args"], e["agent_src"])
	if v := e["agent_version"]; v != "" {
		p(", `%s`", v)
	}
	p("); sensor mode **%s**; default rules. bpftrace %s: `bpftrace -e '%s'`. %s.\n", e["sensor_mode"], e["bpftrace"], e["bpftrace_prog"], e["go"])
	p("- Method: %s rounds; in every round each loop runs with nothing else (baseline), under bpftrace (started, attached — its `Attaching` line — and 1 s before the loop) and under the agent (started, ready — metrics served, sensor not degraded — then %s s of warm-up; stopped after the loop), in that order; %s unmeasured baseline run of each loop first. ",
		e["runs"], e["agent_warmup_s"], e["warmup"])
	p("The loops time themselves (first operation to last, %s workers, each locked to its thread); the median is reported, *added* is the median's excess over the baseline's median (the goals are judged on it), *fastest runs* the fastest run's excess over the baseline's fastest (other work only slows runs down, so these are the least disturbed), *per round* the range of each round's excess over the same round's baseline. ", e["workers"])
	p("Ring-buffer drops and events are the differences of the agent's `%s` and `%s` (all series summed; events by `kind`) read from its /metrics just before and after the loop (after: once the count has stopped changing for 200 ms, since the sensor reads its ring buffer in batches; the agent CPU is read then too); peak RSS is the agent's VmHWM when it is stopped (its whole life: start, warm-up and loop).\n\n", dropsMetric, eventsMetric)

	gs := d.goals()
	p("## Goals (issue 5)\n\n| goal | measured | |\n|---|---|---|\n")
	met := 0
	var notMet []string
	for _, g := range gs {
		v := verdict(g.Met)
		if !g.Known {
			v = "not measured"
		}
		if g.Met {
			met++
		} else {
			notMet = append(notMet, g.Name)
		}
		p("| %s | %s | %s |\n", g.Name, g.Measured, v)
	}
	p("\n")

	for _, ls := range d.loops {
		d.writeLoop(b, ls)
	}
	d.writeIdle(b)
	return d.summary(met, len(gs), notMet)
}

func (d *reportData) writeLoop(b *strings.Builder, ls *loopStats) {
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	workers := max(atoi(d.env["workers"]), 1)
	p("## %s\n\n`%s` — %s operations", ls.title(), ls.Command, thousands(ls.Ops))
	if base, ok := ls.Median["baseline"]; ok && ls.Ops > 0 {
		p(", %.0f per second, %.1f µs each per worker in the baseline", float64(ls.Ops)/base, 1e6*base*float64(workers)/float64(ls.Ops))
	}
	p(".\n\n| configuration | runs | wall s (median) | min–max | added | fastest runs | per round | µs added per operation | CPU s (median) | added CPU | load (median) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	cpuMed := map[string]float64{}
	for _, c := range configs {
		cpuMed[c] = median(ls.cpu(c))
	}
	for _, c := range configs {
		rs := ls.Runs[c]
		if len(rs) == 0 && ls.Failed[c] == 0 {
			continue
		}
		n := strconv.Itoa(len(rs))
		if f := ls.Failed[c]; f > 0 {
			n += fmt.Sprintf(" (%d failed)", f)
		}
		added, fast, per, perOp := "", "", "", ""
		if a, ok := ls.Added[c]; ok {
			added = pct(a)
			if f, ok := ls.fastest(c); ok {
				fast = pct(f)
			}
			if pr := ls.Paired[c]; len(pr) > 0 {
				per = fmt.Sprintf("%s … %s", pct(slices.Min(pr)), pct(slices.Max(pr)))
			}
			if ls.Ops > 0 {
				perOp = fmt.Sprintf("%.2f", 1e6*(ls.Median[c]-ls.Median["baseline"])*float64(workers)/float64(ls.Ops))
			}
		}
		loads := make([]float64, len(rs))
		for i, r := range rs {
			loads[i] = r.Load
		}
		addedCPU := ""
		if c != "baseline" && !math.IsNaN(cpuMed[c]) && cpuMed["baseline"] > 0 {
			addedCPU = pct(100 * (cpuMed[c]/cpuMed["baseline"] - 1))
		}
		p("| %s | %s | %s | %s–%s | %s | %s | %s | %s | %s | %s | %.2f |\n", c, n, secs(ls.Median[c]), secs(ls.Min[c]), secs(ls.Max[c]), added, fast, per, perOp, secs(cpuMed[c]), addedCPU, median(loads))
	}
	p("\n*CPU s* is the loop's user+system time (GNU time; the eBPF programs run in its system calls) plus, under the agent, the agent's own CPU time during the loop (/proc/PID/stat before and after): less sensitive to other users' load than wall time, which on 2 busy cores is what other work and the agent take away from the loop. *Load* is the 1-minute load average when the run started.\n")
	p("\nThe baseline's runs differ by ±%.1f %% (half its min–max range over its median).\n", ls.spread())
	if len(ls.Agent) > 0 {
		var drops, hwm, alerts, evs []string
		var cpus, perEvent []float64
		own := 0
		rules := map[string]int{}
		kinds := map[string][]float64{}
		for _, a := range ls.Agent {
			if a.CPU >= 0 {
				cpus = append(cpus, a.CPU)
			}
			own += a.Own
			for _, r := range a.Rules {
				id, n, _ := strings.Cut(r, "×")
				c, _ := strconv.Atoi(n)
				rules[id] += c
			}
			if a.Metrics {
				drops = append(drops, fmt.Sprintf("%.0f", a.Drops))
			} else {
				drops = append(drops, "?")
			}
			hwm = append(hwm, fmt.Sprintf("%.0f", mib(a.HWMKiB)))
			alerts = append(alerts, strconv.Itoa(a.Alerts))
			var total float64
			for k, v := range a.Events {
				kinds[k] = append(kinds[k], v)
				total += v
			}
			evs = append(evs, fmt.Sprintf("%.0f", total))
			if a.CPU >= 0 && total >= 1000 { // fewer: CPU ticks (10 ms) and background work dominate
				perEvent = append(perEvent, 1e6*a.CPU/total)
			}
		}
		p("\nAgent, per round: ring-buffer drops %s; events delivered during the loop %s; peak RSS (MiB) %s; alerts printed %s.",
			strings.Join(drops, ", "), strings.Join(evs, ", "), strings.Join(hwm, ", "), strings.Join(alerts, ", "))
		if len(cpus) > 0 {
			p(" Agent CPU during the loop (median) %.2f s, %.0f %% of one core over the agent runs' median wall time", median(cpus), 100*median(cpus)/ls.Median["agent"])
			if len(perEvent) > 0 {
				p(", %.1f µs per event delivered", median(perEvent))
			}
			p(".")
		}
		if len(kinds) > 0 {
			names := make([]string, 0, len(kinds))
			for k := range kinds {
				names = append(names, k)
			}
			sort.Slice(names, func(i, j int) bool { return median(kinds[names[i]]) > median(kinds[names[j]]) })
			var parts []string
			for _, k := range names {
				if m := median(kinds[k]); m >= 1 {
					parts = append(parts, fmt.Sprintf("%s %.0f", k, m))
				}
			}
			p(" Events by kind (median per run): %s.", strings.Join(parts, ", "))
		}
		p("\n")
		if len(rules) > 0 {
			ids := make([]string, 0, len(rules))
			for id := range rules {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			var parts []string
			for _, id := range ids {
				parts = append(parts, fmt.Sprintf("%s ×%d", id, rules[id]))
			}
			p("\nAlerts by rule over all rounds: %s; %d of them about this benchmark's own processes (the others are other users' work on this shared machine).\n", strings.Join(parts, ", "), own)
		}
		if note := d.coverage(ls, kinds); note != "" {
			p("\n%s\n", note)
		}
	}
	if len(ls.BPFCount) > 0 {
		p("\nbpftrace counted %s sched_process_exec per round (its whole life, the loop included).\n", strings.Join(ls.BPFCount, ", "))
	}
	p("\n")
}

// coverage says whether the agent saw what the loop did: exec events
// for every exec, an open event for every watched open and none for the
// unwatched ones, connect events for the connects.
func (d *reportData) coverage(ls *loopStats, kinds map[string][]float64) string {
	if len(kinds) == 0 {
		return ""
	}
	check := func(kind string, want int64) string {
		got := slices.Min(append([]float64{math.Inf(1)}, kinds[kind]...))
		if math.IsInf(got, 1) {
			got = 0
		}
		if got >= float64(want) {
			return fmt.Sprintf("The agent delivered at least one `%s` event per operation in every run (fewest %.0f for %s operations).", kind, got, thousands(want))
		}
		return fmt.Sprintf("**The agent delivered fewer `%s` events than operations** in some run (fewest %.0f for %s): events were lost or not reported.", kind, got, thousands(want))
	}
	switch ls.Name {
	case "exec":
		return check("exec", ls.Ops)
	case "open-watched":
		m := median(kinds["open"])
		if math.IsNaN(m) {
			m = 0
		}
		if m < float64(ls.Ops)/100 {
			return fmt.Sprintf("**This agent did not deliver these opens** (median %.0f `open` events per run for %s opens): it does not report reads of this file, so the loop measured in-kernel filtering, not the event path. Set VIGIL_BENCH_RUNTIME_WATCHED to a file whose reads the agent reports.", m, thousands(ls.Ops))
		}
		return check("open", ls.Ops)
	case "connect":
		return check("connect", ls.Ops)
	case "open-unwatched":
		m := median(kinds["open"])
		if math.IsNaN(m) {
			m = 0
		}
		return fmt.Sprintf("In-kernel filtering: %.0f `open` events per run (median) for %s opens of an unwatched file (other processes' watched opens included).", m, thousands(ls.Ops))
	}
	return ""
}

func (d *reportData) writeIdle(b *strings.Builder) {
	if len(d.idle) == 0 {
		return
	}
	i := d.idle
	fmt.Fprintf(b, "## Idle agent\n\nAfter %s s of warm-up, %s s with no load from this benchmark: %s CPU s, **%.2f %% of one core** (utime+stime from /proc/PID/stat at both ends); VmRSS %.1f MiB at the end (average %.1f, max %.1f, sampled every second), VmHWM %.1f MiB. ",
		d.env["agent_warmup_s"], i["window_s"], i["cpu_s"], atof(i["cpu_pct"]), mib(atoi(i["rss_end_kb"])), mib(atoi(i["rss_avg_kb"])), mib(atoi(i["rss_max_kb"])), mib(atoi(i["hwm_kb"])))
	if ev, ok := i["events"]; ok {
		fmt.Fprintf(b, "The sensor delivered %s events meanwhile (other users' processes on this shared machine).", ev)
	}
	fmt.Fprintf(b, "\n")
}

func (d *reportData) summary(met, total int, notMet []string) string {
	var parts []string
	add := func(name, what string) {
		ls := d.loop(name)
		if ls == nil {
			return
		}
		a, ok := ls.Added["agent"]
		if !ok {
			return
		}
		s := fmt.Sprintf("%s to %s", pct(a), what)
		if bt, ok := ls.Added["bpftrace"]; ok && name == "exec" {
			s += fmt.Sprintf(" (bpftrace %s)", pct(bt))
		}
		parts = append(parts, s)
	}
	if ls := d.loop("exec"); ls != nil {
		add("exec", fmt.Sprintf("a %s-exec loop", thousands(ls.Ops)))
	}
	if ls := d.loop("open-watched"); ls != nil {
		add("open-watched", fmt.Sprintf("%s open/close of a watched file", thousands(ls.Ops)))
	}
	if ls := d.loop("open-unwatched"); ls != nil {
		add("open-unwatched", fmt.Sprintf("%s of an unwatched one", thousands(ls.Ops)))
	}
	if ls := d.loop("connect"); ls != nil {
		add("connect", fmt.Sprintf("%s loopback connects", thousands(ls.Ops)))
	}
	var drops float64
	for _, ls := range d.loops {
		n, _ := ls.drops()
		drops += n
	}
	var peak int64
	for _, ls := range d.loops {
		peak = max(peak, ls.peakKiB())
	}
	date, _, _ := strings.Cut(d.env["date"], "T")
	s := fmt.Sprintf("On %s (%s shared cores, load %s), `vigil-agent --standalone` (sensor %s, default rules) added %s; %.0f ring-buffer drops; idle %.2f %% of a core, %.0f MiB RSS (peak %.0f MiB during the loops). Goals met: %d of %d",
		date, d.env["nproc"], firstField(d.env["loadavg_start"]), d.env["sensor_mode"], strings.Join(parts, ", "), drops,
		atof(d.idle["cpu_pct"]), mib(atoi(d.idle["rss_end_kb"])), mib(peak), met, total)
	if len(notMet) > 0 {
		s += " (not met: " + strings.Join(notMet, "; ") + ")"
	}
	return s + "."
}

func firstField(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// cpu returns, per successful run of config c, the loop's CPU seconds
// plus, under the agent, the agent's CPU seconds during that run (runs
// whose agent CPU is unknown are left out).
func (ls *loopStats) cpu(c string) []float64 {
	agentCPU := map[int]float64{}
	for _, a := range ls.Agent {
		agentCPU[a.Round] = a.CPU
	}
	var xs []float64
	for _, r := range ls.Runs[c] {
		x := r.CPU
		if c == "agent" {
			a, ok := agentCPU[r.Round]
			if !ok || a < 0 {
				continue
			}
			x += a
		}
		xs = append(xs, x)
	}
	return xs
}

// fastest is the excess of config c's fastest run over the baseline's
// fastest: other users' work only ever slows a run down, so the fastest
// runs are the least disturbed.
func (ls *loopStats) fastest(c string) (float64, bool) {
	b, ok1 := ls.Min["baseline"]
	m, ok2 := ls.Min[c]
	if !ok1 || !ok2 || b == 0 {
		return 0, false
	}
	return 100 * (m/b - 1), true
}

// addedNote is the added time of config c with the fastest runs' figure
// and, when the baseline moved more than that between runs, a warning.
func (ls *loopStats) addedNote(c string) string {
	a, ok := ls.Added[c]
	if !ok {
		return "–"
	}
	s := pct(a)
	if f, ok := ls.fastest(c); ok {
		s += fmt.Sprintf(" (fastest runs: %s)", pct(f))
	}
	if sp := ls.spread(); !math.IsNaN(sp) && sp >= math.Abs(a) {
		s += fmt.Sprintf("; within the baseline's run-to-run spread of ±%.1f %%", sp)
	}
	return s
}
