package agent

import (
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-sec/vigil/internal/agentpb"
	"github.com/vigil-sec/vigil/internal/guard"
)

// AlertKind is the event kind runtime alerts travel as.
const AlertKind = "alert"

// AlertSink sends runtime alerts to the server as events on the agent's
// stream (spooled first, like every numbered message, so an alert raised
// while the server is away arrives later). The asset is the container the
// process ran in, else the host.
func (a *Agent) AlertSink() guard.Sink {
	return guard.SinkFunc(func(al *guard.Alert) error {
		data, err := json.Marshal(al)
		if err != nil {
			return fmt.Errorf("alert %s: %w", al.RuleID, err)
		}
		asset := "host"
		if c := al.Event.Container; c != nil && c.ID != "" {
			asset = "container:" + c.ID
		}
		return a.SendEvents([]*agentpb.Event{{
			Time: timestamppb.New(al.Time), Kind: AlertKind, Severity: al.Severity.String(), AssetId: asset, Data: data,
		}})
	})
}

// GuardCollector exposes runtime protection's counters as Prometheus
// metrics: sensor events and kernel ring-buffer drops by kind, alerts by
// rule, actions, sink and reload errors, and the sensor's mode.
type GuardCollector struct {
	G *guard.Guard
}

var (
	descSensorEvents = prometheus.NewDesc("vigil_sensor_events_total", "Events delivered by the sensor, by kind.", []string{"kind"}, nil)
	descSensorDrops  = prometheus.NewDesc("vigil_sensor_ringbuf_drops_total", "Records the kernel could not put in the ring buffer (full), by kind.", []string{"kind"}, nil)
	descDecodeErrors = prometheus.NewDesc("vigil_sensor_decode_errors_total", "Malformed sensor records.", nil, nil)
	descMode         = prometheus.NewDesc("vigil_sensor_mode", "1 for the sensor's current mode (ebpf, or degraded with its reason).", []string{"mode"}, nil)
	descAlerts       = prometheus.NewDesc("vigil_runtime_alerts_total", "Runtime alerts raised, by rule.", []string{"rule"}, nil)
	descSuppressed   = prometheus.NewDesc("vigil_runtime_alerts_suppressed_total", "Repeated alerts held back by the repeat window, by rule.", []string{"rule"}, nil)
	descActions      = prometheus.NewDesc("vigil_runtime_actions_total", "Response actions taken or recorded, by action.", []string{"action"}, nil)
	descSinkErrors   = prometheus.NewDesc("vigil_runtime_sink_errors_total", "Alerts a sink failed to take.", nil, nil)
	descReloadErrors = prometheus.NewDesc("vigil_runtime_rule_reload_errors_total", "Rule reloads refused because the edited rules did not load.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c GuardCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSensorEvents, descSensorDrops, descDecodeErrors, descMode, descAlerts, descSuppressed, descActions, descSinkErrors, descReloadErrors} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c GuardCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.G.Stats()
	for k, n := range st.Sensor.Events {
		ch <- prometheus.MustNewConstMetric(descSensorEvents, prometheus.CounterValue, float64(n), string(k))
	}
	// A drop series for every kind seen, zero included, so that "no
	// drops" is a value a dashboard can show, not a missing series.
	for k := range st.Sensor.Events {
		ch <- prometheus.MustNewConstMetric(descSensorDrops, prometheus.CounterValue, float64(st.Sensor.KernelDrops[k]), string(k))
	}
	for k, n := range st.Sensor.KernelDrops {
		if _, seen := st.Sensor.Events[k]; !seen {
			ch <- prometheus.MustNewConstMetric(descSensorDrops, prometheus.CounterValue, float64(n), string(k))
		}
	}
	ch <- prometheus.MustNewConstMetric(descDecodeErrors, prometheus.CounterValue, float64(st.Sensor.DecodeErrors))
	ch <- prometheus.MustNewConstMetric(descMode, prometheus.GaugeValue, 1, st.Mode)
	for r, n := range st.Alerts {
		ch <- prometheus.MustNewConstMetric(descAlerts, prometheus.CounterValue, float64(n), r)
	}
	for r, n := range st.Suppressed {
		ch <- prometheus.MustNewConstMetric(descSuppressed, prometheus.CounterValue, float64(n), r)
	}
	for a, n := range st.Actions {
		ch <- prometheus.MustNewConstMetric(descActions, prometheus.CounterValue, float64(n), a)
	}
	ch <- prometheus.MustNewConstMetric(descSinkErrors, prometheus.CounterValue, float64(st.SinkErrors))
	ch <- prometheus.MustNewConstMetric(descReloadErrors, prometheus.CounterValue, float64(st.ReloadErrors))
}
