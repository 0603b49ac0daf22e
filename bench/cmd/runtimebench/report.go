package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Goals of issue 5.
const (
	goalExecPct  = 5.0
	goalOpenPct  = 10.0
	goalIdleCPU  = 1.0
	goalRSSMiB   = 80.0
	goalBPFRatio = 2.0
)

var configs = []string{"baseline", "bpftrace", "agent"}

var loopTitles = map[string]string{
	"exec":           "fork+exec loop",
	"open-watched":   "open/close loop, watched file",
	"open-unwatched": "open/close loop, unwatched file",
	"connect":        "loopback connect loop",
}

// loopRun is one measured loop run.
type loopRun struct {
	Loop, Config string
	Round        int
	Elapsed      float64
	Ops          int64
	CPU          float64
	Load         float64
	Exit         int
}

// agentRun is what was read from the agent around one loop run.
type agentRun struct {
	Round   int
	HWMKiB  int64
	Alerts  int
	Own     int      // alerts about the loop's own processes
	Rules   []string // rule×count of every alert
	CPU     float64  // the agent's CPU seconds during the loop, -1 unknown
	Drops   float64
	Events  map[string]float64 // by kind, during the loop
	Metrics bool               // both scrapes were read, with drop counters
}

// loopStats are one loop's numbers.
type loopStats struct {
	Name     string
	Command  string
	Runs     map[string][]loopRun // by config, successful runs
	Failed   map[string]int
	Median   map[string]float64
	Min, Max map[string]float64
	Added    map[string]float64   // % over the baseline's median
	Paired   map[string][]float64 // % over the same round's baseline
	Agent    []agentRun
	BPFCount []string
	Ops      int64
}

type reportData struct {
	env   map[string]string
	idle  map[string]string
	loops []*loopStats
}

func runReport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	work := fs.String("work", "", "the run directory")
	out := fs.String("out", "", "the report to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *work == "" || *out == "" {
		return errors.New("report needs -work and -out")
	}
	d, err := load(*work)
	if err != nil {
		return err
	}
	var b strings.Builder
	summary := d.write(&b)
	if err := os.WriteFile(*out, []byte(b.String()), 0o644); err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, summary)
	return err
}

func readTSV(path string) ([]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		rows []map[string]string
		head []string
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if head == nil {
			head = cols
			continue
		}
		row := map[string]string{}
		for i, h := range head {
			if i < len(cols) {
				row[h] = cols[i]
			}
		}
		rows = append(rows, row)
	}
	return rows, sc.Err()
}

func readKV(path string) map[string]string {
	kv := map[string]string{}
	b, err := os.ReadFile(path)
	if err != nil {
		return kv
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "\t"); ok {
			if _, dup := kv[k]; !dup {
				kv[k] = v
			}
		}
	}
	return kv
}

func atof(s string) float64 { f, _ := strconv.ParseFloat(strings.TrimSpace(s), 64); return f }
func atoi(s string) int64   { n, _ := strconv.ParseInt(strings.TrimSpace(s), 10, 64); return n }

func load(work string) (*reportData, error) {
	d := &reportData{env: readKV(filepath.Join(work, "env.tsv")), idle: readKV(filepath.Join(work, "idle.tsv"))}
	loopRows, err := readTSV(filepath.Join(work, "loops.tsv"))
	if err != nil {
		return nil, err
	}
	times, err := readTSV(filepath.Join(work, "times.tsv"))
	if err != nil {
		return nil, err
	}
	agentRows, _ := readTSV(filepath.Join(work, "agent.tsv"))
	btRows, _ := readTSV(filepath.Join(work, "bpftrace.tsv"))
	for _, lr := range loopRows {
		ls := &loopStats{
			Name: lr["loop"], Command: lr["command"],
			Runs: map[string][]loopRun{}, Failed: map[string]int{},
			Median: map[string]float64{}, Min: map[string]float64{}, Max: map[string]float64{},
			Added: map[string]float64{}, Paired: map[string][]float64{},
		}
		for _, t := range times {
			if t["loop"] != ls.Name {
				continue
			}
			r := loopRun{Loop: ls.Name, Config: t["config"], Round: int(atoi(t["round"])), Elapsed: atof(t["elapsed_s"]),
				Ops: atoi(t["ops"]), CPU: atof(t["cpu_s"]), Load: atof(t["load1"]), Exit: int(atoi(t["exit"]))}
			if r.Exit != 0 || r.Elapsed <= 0 || atoi(t["errors"]) > 0 {
				ls.Failed[r.Config]++
				continue
			}
			ls.Runs[r.Config] = append(ls.Runs[r.Config], r)
			ls.Ops = max(ls.Ops, r.Ops)
		}
		for c, rs := range ls.Runs {
			xs := elapsed(rs)
			ls.Median[c], ls.Min[c], ls.Max[c] = median(xs), slices.Min(xs), slices.Max(xs)
		}
		base, ok := ls.Median["baseline"]
		for _, c := range configs[1:] {
			m, ok2 := ls.Median[c]
			if !ok || !ok2 {
				continue
			}
			ls.Added[c] = 100 * (m/base - 1)
			for _, r := range ls.Runs[c] {
				for _, b := range ls.Runs["baseline"] {
					if b.Round == r.Round {
						ls.Paired[c] = append(ls.Paired[c], 100*(r.Elapsed/b.Elapsed-1))
					}
				}
			}
		}
		for _, a := range agentRows {
			if a["loop"] != ls.Name {
				continue
			}
			ar := agentRun{Round: int(atoi(a["round"])), HWMKiB: atoi(a["hwm_kb"]), Alerts: int(atoi(a["alerts"])),
				Own: int(atoi(a["alerts_own"])), Rules: strings.Fields(a["rules"]), CPU: -1, Events: map[string]float64{}}
			before, err1 := readMetrics(filepath.Join(work, "metrics", fmt.Sprintf("%s-%d-before.prom", ls.Name, ar.Round)))
			after, err2 := readMetrics(filepath.Join(work, "metrics", fmt.Sprintf("%s-%d-after.prom", ls.Name, ar.Round)))
			// The agent exports a drop series for every kind it has seen;
			// none at all after the loop means the metric is not there.
			if _, hasDrops := after.sum(dropsMetric); err1 == nil && err2 == nil && hasDrops {
				ar.Metrics = true
				d0, _ := before.sum(dropsMetric)
				d1, _ := after.sum(dropsMetric)
				ar.Drops = d1 - d0
				c0, ok0 := before[cpuMetric]
				c1, ok1 := after[cpuMetric]
				if ok0 && ok1 {
					ar.CPU = c1 - c0
				}
				for k, v := range after {
					if kind, ok := kindOf(k, eventsMetric); ok {
						ar.Events[kind] += v - before[k]
					}
				}
			}
			ls.Agent = append(ls.Agent, ar)
		}
		for _, b := range btRows {
			if b["loop"] == ls.Name {
				ls.BPFCount = append(ls.BPFCount, b["count"])
			}
		}
		d.loops = append(d.loops, ls)
	}
	return d, nil
}

func readMetrics(path string) (metrics, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseMetrics(f)
}

// kindOf returns the kind label of a series of name.
func kindOf(key, name string) (string, bool) {
	if !strings.HasPrefix(key, name+"{") {
		return "", false
	}
	i := strings.Index(key, `kind="`)
	if i < 0 {
		return "all", true
	}
	k, _, _ := strings.Cut(key[i+6:], `"`)
	return k, true
}

func elapsed(rs []loopRun) []float64 {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = r.Elapsed
	}
	return xs
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (ls *loopStats) title() string {
	if t, ok := loopTitles[ls.Name]; ok {
		return t
	}
	return ls.Name
}

// drops sums the agent's ring-buffer drops over its runs; ok is false
// when no run's metrics could be read.
func (ls *loopStats) drops() (total float64, ok bool) {
	for _, a := range ls.Agent {
		if a.Metrics {
			total += a.Drops
			ok = true
		}
	}
	return total, ok
}

func (ls *loopStats) peakKiB() int64 {
	var p int64
	for _, a := range ls.Agent {
		p = max(p, a.HWMKiB)
	}
	return p
}

// spread is half the baseline's min–max range, in % of its median: how
// much two runs of the same thing differ on this machine.
func (ls *loopStats) spread() float64 {
	m, ok := ls.Median["baseline"]
	if !ok || m == 0 {
		return math.NaN()
	}
	return 50 * (ls.Max["baseline"] - ls.Min["baseline"]) / m
}

func (d *reportData) loop(name string) *loopStats {
	for _, ls := range d.loops {
		if ls.Name == name {
			return ls
		}
	}
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

func pct(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%+.1f %%", x)
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

func secs(x float64) string {
	switch {
	case math.IsNaN(x):
		return "–"
	case x < 1:
		return fmt.Sprintf("%.3f", x)
	default:
		return fmt.Sprintf("%.2f", x)
	}
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// goal is one line of the goals table.
type goal struct {
	Name, Measured string
	Met, Known     bool
}
