package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vigil-sec/vigil/bench/internal/procstat"
)

// The agent's metrics this benchmark reads. Counters; every series of a
// name is summed.
const (
	eventsMetric = "vigil_sensor_events_total"
	dropsMetric  = "vigil_sensor_ringbuf_drops_total"
	// cpuMetric is added by scrape -pid: the agent's CPU seconds.
	cpuMetric = "runtimebench_agent_cpu_seconds"
)

// modeRe finds the sensor mode the agent logs at start, in logfmt
// (sensor=ebpf, mode="degraded: not root") or JSON ("mode":"ebpf").
var modeRe = regexp.MustCompile(`\b(?:sensor_?mode|mode|sensor)"?\s*[=:]\s*"?(ebpf|degraded[^"\n]*)`)

// sensorMode returns the mode in the agent's log, or "" if none is there
// yet. Any line saying degraded wins.
func sensorMode(log []byte) string {
	mode := ""
	for _, m := range modeRe.FindAllSubmatch(log, -1) {
		s := strings.TrimSpace(string(m[1]))
		if strings.HasPrefix(s, "degraded") {
			return s
		}
		mode = s
	}
	return mode
}

// metricsMode reads the mode from metrics when the agent exports it: a
// series with a mode label (vigil_sensor_mode{mode="ebpf"} 1) or a
// degraded gauge (vigil_sensor_degraded 1).
func metricsMode(m metrics) string {
	for k, v := range m {
		name, labels, _ := strings.Cut(k, "{")
		if !strings.HasPrefix(name, "vigil_sensor") {
			continue
		}
		if strings.HasSuffix(name, "_degraded") {
			if v > 0 {
				return "degraded (" + name + " = 1)"
			}
			return "ebpf"
		}
		if i := strings.Index(labels, `mode="`); i >= 0 && v > 0 {
			val, _, _ := strings.Cut(labels[i+6:], `"`)
			return val
		}
	}
	return ""
}

func runWaitAgent(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wait-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pid := fs.Int("pid", 0, "the agent's pid")
	logPath := fs.String("log", "", "the agent's log (stderr)")
	url := fs.String("url", "", "the agent's /metrics URL")
	timeout := fs.Duration("timeout", 60*time.Second, "bound on becoming ready")
	requireMode := fs.Bool("require-mode", false, "wait until the log or the metrics say the sensor mode (at --log-level warn the agent may not log it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	start := time.Now()
	deadline := start.Add(*timeout)
	var served bool
	for {
		if !alive(*pid) {
			return fmt.Errorf("the agent (pid %d) exited; its log:\n%s", *pid, tail(*logPath, 20))
		}
		log, _ := os.ReadFile(*logPath)
		mode := sensorMode(log)
		m, err := scrape(ctx, *url)
		served = err == nil
		if mm := metricsMode(m); served && (mode == "" || strings.HasPrefix(mm, "degraded")) {
			mode = mm
		}
		if strings.HasPrefix(mode, "degraded") {
			return fmt.Errorf("%w (%s): refusing to measure it", errDegraded, mode)
		}
		if served && (mode == "ebpf" || !*requireMode && mode == "") {
			if mode == "" {
				mode = "unlogged"
			}
			fmt.Fprintf(stdout, "%s %.3f\n", mode, time.Since(start).Seconds())
			return nil
		}
		if time.Now().After(deadline) {
			what := "no sensor mode in its log or metrics"
			if !served {
				what = fmt.Sprintf("%s not served (%v)", *url, err)
			}
			return fmt.Errorf("the agent was not ready after %s: %s; its log:\n%s", *timeout, what, tail(*logPath, 20))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func alive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || !strings.HasPrefix(string(b[i+1:]), " Z")
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

// metrics are Prometheus samples keyed by name{labels}.
type metrics map[string]float64

// sum adds every series of a metric; ok is false when there is none.
func (m metrics) sum(name string) (total float64, ok bool) {
	for k, v := range m {
		if k == name || strings.HasPrefix(k, name+"{") {
			total += v
			ok = true
		}
	}
	return total, ok
}

// parseMetrics reads the Prometheus text format (samples only).
func parseMetrics(r io.Reader) (metrics, error) {
	m := metrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		key, rest := line, ""
		if i := strings.IndexByte(line, '}'); i >= 0 && strings.IndexByte(line, '{') < i {
			key, rest = line[:i+1], line[i+1:]
		} else if i := strings.IndexByte(line, ' '); i >= 0 {
			key, rest = line[:i], line[i:]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		m[key] = v
	}
	return m, sc.Err()
}

func fetch(ctx context.Context, url string) ([]byte, error) {
	if url == "" {
		return nil, errors.New("no metrics URL")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 16<<20))
}

func scrape(ctx context.Context, url string) (metrics, error) {
	b, err := fetch(ctx, url)
	if err != nil {
		return nil, err
	}
	return parseMetrics(strings.NewReader(string(b)))
}

func runScrape(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("scrape", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", "the agent's /metrics URL")
	out := fs.String("out", "", "where to save the metrics")
	pid := fs.Int("pid", 0, "also save this process's CPU seconds (from /proc/PID/stat) as "+cpuMetric)
	settle := fs.Duration("settle", 0, "wait until the events counted stop changing over this interval (at most 20 of them): "+
		"the sensor reads its ring buffer in batches, so the last events of a loop arrive a few milliseconds after it ends")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := fetch(ctx, *url)
	if err != nil {
		return err
	}
	for i := 0; *settle > 0 && i < 20; i++ {
		prev, err := parseMetrics(strings.NewReader(string(b)))
		if err != nil {
			return err
		}
		time.Sleep(*settle)
		if b, err = fetch(ctx, *url); err != nil {
			return err
		}
		cur, err := parseMetrics(strings.NewReader(string(b)))
		if err != nil {
			return err
		}
		p, _ := prev.sum("vigil_sensor_events_total")
		c, _ := cur.sum("vigil_sensor_events_total")
		if p == c {
			break
		}
	}
	if *pid > 0 {
		cpu, err := procstat.CPU(*pid)
		if err != nil {
			return err
		}
		b = fmt.Appendf(b, "# runtimebench: read from /proc/%d/stat\n%s %.2f\n", *pid, cpuMetric, cpu)
	}
	return os.WriteFile(*out, b, 0o644)
}

// runIdle watches an otherwise idle agent for a window: CPU seconds from
// /proc/PID/stat at both ends, VmRSS every second, VmHWM at the end, and
// the events the sensor delivered meanwhile (the machine is never quite
// idle: other users' processes are events too).
func runIdle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("idle", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pid := fs.Int("pid", 0, "the agent's pid")
	url := fs.String("url", "", "the agent's /metrics URL")
	window := fs.Duration("window", 60*time.Second, "the idle window")
	out := fs.String("out", "", "write key<TAB>value lines here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ev0 := eventsNow(ctx, *url)
	cpu0, err := procstat.CPU(*pid)
	if err != nil {
		return err
	}
	t0 := time.Now()
	var rssSum, rssMax, n int64
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for time.Since(t0) < *window {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		rss, _, err := procstat.Mem(*pid)
		if err != nil {
			return fmt.Errorf("the agent exited during the idle window: %w", err)
		}
		rssSum += rss
		rssMax = max(rssMax, rss)
		n++
	}
	cpu1, err := procstat.CPU(*pid)
	if err != nil {
		return err
	}
	el := time.Since(t0).Seconds()
	rss, hwm, err := procstat.Mem(*pid)
	if err != nil {
		return err
	}
	ev1 := eventsNow(ctx, *url)
	var b strings.Builder
	fmt.Fprintf(&b, "window_s\t%.3f\n", el)
	fmt.Fprintf(&b, "cpu_s\t%.2f\n", cpu1-cpu0)
	fmt.Fprintf(&b, "cpu_pct\t%.3f\n", 100*(cpu1-cpu0)/el)
	fmt.Fprintf(&b, "rss_end_kb\t%d\n", rss)
	fmt.Fprintf(&b, "rss_avg_kb\t%d\n", rssSum/max(n, 1))
	fmt.Fprintf(&b, "rss_max_kb\t%d\n", rssMax)
	fmt.Fprintf(&b, "hwm_kb\t%d\n", hwm)
	if ev0 >= 0 && ev1 >= 0 {
		fmt.Fprintf(&b, "events\t%.0f\n", ev1-ev0)
	}
	if *out == "" {
		_, err := io.WriteString(stdout, b.String())
		return err
	}
	return os.WriteFile(*out, []byte(b.String()), 0o644)
}

func eventsNow(ctx context.Context, url string) float64 {
	m, err := scrape(ctx, url)
	if err != nil {
		return -1
	}
	v, ok := m.sum(eventsMetric)
	if !ok {
		return -1
	}
	return v
}
