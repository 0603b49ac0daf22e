package fleet

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the server-side counters of the agent protocol, exported on
// the server's /metrics.
type Metrics struct {
	Connected  prometheus.Gauge
	Messages   *prometheus.CounterVec // by kind: heartbeat, inventory, events, task_result
	Duplicates prometheus.Counter     // replays of committed messages, acknowledged again
	Events     prometheus.Counter     // events stored
	Enrolled   *prometheus.CounterVec // by result: ok, denied, error
	Rejected   *prometheus.CounterVec // streams refused, by reason
	Silent     prometheus.Counter     // agents that went silent
	IngestTime prometheus.Histogram   // seconds from receipt to commit
	Batches    prometheus.Histogram   // messages per ingest transaction (group commit)
}

// NewMetrics creates the metrics and registers them with reg when it is
// not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Connected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "vigil_server_agents_connected", Help: "Agents with an open stream."}),
		Messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_server_agent_messages_total", Help: "Agent messages received, by kind."},
			[]string{"kind"}),
		Duplicates: prometheus.NewCounter(prometheus.CounterOpts{Name: "vigil_server_agent_duplicates_total", Help: "Replayed agent messages that were already committed."}),
		Events:     prometheus.NewCounter(prometheus.CounterOpts{Name: "vigil_server_events_total", Help: "Agent events stored."}),
		Enrolled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_server_enrollments_total", Help: "Enrollment attempts, by result."},
			[]string{"result"}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_server_agent_rejected_total", Help: "Agent calls refused, by reason."},
			[]string{"reason"}),
		Silent: prometheus.NewCounter(prometheus.CounterOpts{Name: "vigil_server_agents_silent_total", Help: "Times an agent went silent for more than twice its heartbeat."}),
		IngestTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "vigil_server_ingest_seconds", Help: "Time from receipt to commit of one agent message.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		Batches: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "vigil_server_ingest_batch_messages", Help: "Agent messages committed in one store transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 9)}),
	}
	if reg != nil {
		reg.MustRegister(m.Connected, m.Messages, m.Duplicates, m.Events, m.Enrolled, m.Rejected, m.Silent, m.IngestTime, m.Batches)
	}
	return m
}
