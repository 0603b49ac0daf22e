package results

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// run is one measured execution of a tool on a corpus.
type run struct {
	corpus, tool string
	n            int // 0 is the warm-up
	wall         float64
	rssKB        int64
	cpu          float64 // user + system seconds
	exit         int
}

// stat is the measured runs (warm-up excluded) of one tool on one corpus.
type stat struct {
	runs            int
	wall            float64 // median, seconds
	wallMin         float64
	wallMax         float64
	rssKB           int64 // median
	exits           []int // distinct exit codes
	failed          bool  // some run ended with an exit code other than 0 or 3
	incompleteVigil bool  // some run ended with 3 (Vigil: result incomplete)
}

// readTimes reads times.tsv: corpus, tool, run, wall_s, maxrss_kb, cpu_s,
// exit.
func readTimes(path string) ([]run, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []run
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		f := strings.Split(sc.Text(), "\t")
		if line == 1 && len(f) > 0 && f[0] == "corpus" {
			continue // header
		}
		if len(f) != 7 {
			return nil, fmt.Errorf("%s:%d: want 7 fields, got %d", path, line, len(f))
		}
		r := run{corpus: f[0], tool: f[1]}
		var errs []error
		var e error
		r.n, e = strconv.Atoi(f[2])
		errs = append(errs, e)
		r.wall, e = strconv.ParseFloat(f[3], 64)
		errs = append(errs, e)
		r.rssKB, e = strconv.ParseInt(f[4], 10, 64)
		errs = append(errs, e)
		r.cpu, e = strconv.ParseFloat(f[5], 64)
		errs = append(errs, e)
		r.exit, e = strconv.Atoi(f[6])
		errs = append(errs, e)
		for _, e := range errs {
			if e != nil {
				return nil, fmt.Errorf("%s:%d: %w", path, line, e)
			}
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// stats groups runs by corpus and tool; warm-up runs (n == 0) are left out.
func stats(runs []run) map[[2]string]*stat {
	group := map[[2]string][]run{}
	for _, r := range runs {
		if r.n == 0 {
			continue
		}
		k := [2]string{r.corpus, r.tool}
		group[k] = append(group[k], r)
	}
	out := map[[2]string]*stat{}
	for k, rs := range group {
		s := &stat{runs: len(rs)}
		walls := make([]float64, len(rs))
		rss := make([]int64, len(rs))
		for i, r := range rs {
			walls[i], rss[i] = r.wall, r.rssKB
			if !slices.Contains(s.exits, r.exit) {
				s.exits = append(s.exits, r.exit)
			}
			switch r.exit {
			case 0:
			case 3:
				s.incompleteVigil = true
			default:
				s.failed = true
			}
		}
		slices.Sort(walls)
		slices.Sort(rss)
		s.wall, s.wallMin, s.wallMax = median(walls), walls[0], walls[len(walls)-1]
		s.rssKB = median(rss)
		out[k] = s
	}
	return out
}

// median of sorted xs; the lower middle one when len(xs) is even, so the
// value is always one that was measured.
func median[T int64 | float64](xs []T) T {
	return xs[(len(xs)-1)/2]
}

// othersLoad estimates how many CPUs other work kept busy on average while
// the tools were measured: the machine's busy CPU time between env's
// cpustat_start and cpustat_end (clock ticks and a timestamp each, see
// bench/sbom.sh), minus the CPU time every measured run used, divided by the
// wall time. ok is false when env lacks the samples.
func othersLoad(env map[string]string, runs []run) (cpus float64, ok bool) {
	parse := func(key string) (ticks, at float64, ok bool) {
		f := strings.Fields(env[key])
		if len(f) != 2 {
			return 0, 0, false
		}
		t, err1 := strconv.ParseFloat(f[0], 64)
		a, err2 := strconv.ParseFloat(f[1], 64)
		return t, a, err1 == nil && err2 == nil
	}
	t0, a0, ok0 := parse("cpustat_start")
	t1, a1, ok1 := parse("cpustat_end")
	hz, err := strconv.ParseFloat(env["clk_tck"], 64)
	if !ok0 || !ok1 || err != nil || hz <= 0 || a1 <= a0 {
		return 0, false
	}
	ours := 0.0
	for _, r := range runs {
		ours += r.cpu
	}
	return max(0, ((t1-t0)/hz-ours)/(a1-a0)), true
}

// readEnv reads env.tsv: key, value.
func readEnv(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, "\t"); ok {
			env[k] = v
		}
	}
	return env, nil
}
