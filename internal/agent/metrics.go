package agent

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// counter is a monotonic count readable both by the protocol (heartbeat
// stats) and by Prometheus.
type counter struct{ v atomic.Uint64 }

func (c *counter) Inc()          { c.v.Add(1) }
func (c *counter) Load() uint64  { return c.v.Load() }
func (c *counter) Set(v float64) { c.v.Store(uint64(v)) }

// Metrics are the agent's counters, exported as vigil_agent_* when the
// agent has a Registerer.
type Metrics struct {
	connected, sent, acked, replayed, reconnects, renewals counter
}

func newMetrics(reg prometheus.Registerer, a *Agent) *Metrics {
	m := &Metrics{}
	if reg == nil {
		return m
	}
	fn := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f)
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	load := func(c *counter) func() float64 { return func() float64 { return float64(c.Load()) } }
	reg.MustRegister(
		gauge("vigil_agent_connected", "1 while the agent has a stream to the server.", load(&m.connected)),
		fn("vigil_agent_messages_sent_total", "Numbered messages sent (first sends and replays).", load(&m.sent)),
		fn("vigil_agent_messages_acked_total", "Acknowledgements received.", load(&m.acked)),
		fn("vigil_agent_messages_replayed_total", "Messages sent again after a reconnect.", load(&m.replayed)),
		fn("vigil_agent_reconnects_total", "Streams lost and retried.", load(&m.reconnects)),
		fn("vigil_agent_cert_renewals_total", "Certificates renewed.", load(&m.renewals)),
		fn("vigil_agent_messages_spooled_total", "Messages written to the on-disk spool.", func() float64 { return float64(a.spool.Stats().Spooled) }),
		fn("vigil_agent_messages_dropped_total", "Messages dropped because the spool was full.", func() float64 { return float64(a.spool.Stats().Dropped) }),
		gauge("vigil_agent_spool_bytes", "Bytes in the spool.", func() float64 { return float64(a.spool.Stats().Bytes) }),
		gauge("vigil_agent_spool_records", "Messages in the spool awaiting acknowledgement.", func() float64 { return float64(a.spool.Stats().Records) }),
	)
	return m
}

// cpuSeconds is the process's user+system CPU time from /proc/self/stat.
func cpuSeconds() float64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}

// rssBytes is the process's resident set from /proc/self/statm.
func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}
