package guard

import "time"

// repeatWindow is how long the same rule on the same process stays
// quiet after it alerted; maxTracked bounds the keys remembered.
const (
	repeatWindow = 10 * time.Second
	maxTracked   = 1 << 16
)

// limitKey names a rule firing on a process: (pid, start time) is unique.
type limitKey struct {
	rule  string
	pid   int32
	start uint64
}

// limiter lets one alert per key through per window. Only Run's goroutine
// uses it.
type limiter struct {
	window time.Duration
	max    int
	first  map[limitKey]time.Time // when the key's current window opened
	swept  time.Time
}

func newLimiter(window time.Duration, max int) *limiter {
	return &limiter{window: window, max: max, first: map[limitKey]time.Time{}}
}

// allow reports whether an alert for k at now opens a new window.
func (l *limiter) allow(k limitKey, now time.Time) bool {
	if now.Sub(l.swept) >= l.window || len(l.first) >= l.max {
		l.sweep(now)
	}
	if t, ok := l.first[k]; ok && now.Sub(t) < l.window && !now.Before(t) {
		return false
	}
	if len(l.first) >= l.max {
		// Every key is within its window (an alert storm): let this one
		// through unremembered rather than grow or drop it.
		return true
	}
	l.first[k] = now
	return true
}

// sweep forgets the keys whose window has closed.
func (l *limiter) sweep(now time.Time) {
	for k, t := range l.first {
		if now.Sub(t) >= l.window || now.Before(t) {
			delete(l.first, k)
		}
	}
	l.swept = now
}
