package main

import (
	"math"
	"slices"
	"sync"
	"time"
)

// latencies collects durations; it keeps every sample (a run has at most
// a few hundred thousand) so percentiles are exact.
type latencies struct {
	mu sync.Mutex
	ms []float64
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.ms = append(l.ms, float64(d)/float64(time.Millisecond))
	l.mu.Unlock()
}

// Summary is a latency distribution in milliseconds.
type Summary struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean_ms"`
	P50  float64 `json:"p50_ms"`
	P95  float64 `json:"p95_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
}

func (l *latencies) summary() Summary {
	l.mu.Lock()
	v := slices.Clone(l.ms)
	l.mu.Unlock()
	return summarize(v)
}

func summarize(v []float64) Summary {
	if len(v) == 0 {
		return Summary{}
	}
	slices.Sort(v)
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	return Summary{N: len(v), Mean: round3(sum / float64(len(v))), P50: round3(pct(v, 50)), P95: round3(pct(v, 95)),
		P99: round3(pct(v, 99)), Max: round3(v[len(v)-1])}
}

// pct is the nearest-rank percentile of sorted v.
func pct(v []float64, p float64) float64 {
	i := int(math.Ceil(p/100*float64(len(v)))) - 1
	return v[max(0, min(i, len(v)-1))]
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// timeline counts something per second of a window.
type timeline struct {
	mu     sync.Mutex
	start  time.Time
	counts []int64
}

func (t *timeline) begin(at time.Time, seconds int) {
	t.mu.Lock()
	t.start, t.counts = at, make([]int64, seconds)
	t.mu.Unlock()
}

func (t *timeline) add(at time.Time, n int64) {
	t.mu.Lock()
	if t.counts != nil {
		if i := int(at.Sub(t.start) / time.Second); i >= 0 && i < len(t.counts) {
			t.counts[i] += n
		}
	}
	t.mu.Unlock()
}

// buckets sums the timeline in buckets of n seconds (a last partial
// bucket is left out).
func (t *timeline) buckets(n int) []float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []float64
	for i := 0; i+n <= len(t.counts); i += n {
		var s int64
		for _, c := range t.counts[i : i+n] {
			s += c
		}
		out = append(out, float64(s)/float64(n))
	}
	return out
}

// errorLog counts errors by class and keeps a few examples.
type errorLog struct {
	mu       sync.Mutex
	counts   map[string]int
	examples map[string]string
}

func (e *errorLog) add(class string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.counts == nil {
		e.counts, e.examples = map[string]int{}, map[string]string{}
	}
	e.counts[class]++
	if _, ok := e.examples[class]; !ok && err != nil {
		msg := err.Error()
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		e.examples[class] = msg
	}
}

func (e *errorLog) snapshot() (map[string]int, map[string]string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, x := map[string]int{}, map[string]string{}
	for k, v := range e.counts {
		c[k] = v
	}
	for k, v := range e.examples {
		x[k] = v
	}
	return c, x
}
