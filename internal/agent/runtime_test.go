package agent_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/detect"
	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/fleet"
	"github.com/vigil-sec/vigil/internal/guard"
	"github.com/vigil-sec/vigil/internal/pki"
	"github.com/vigil-sec/vigil/internal/sensor"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestAlertSink: a runtime alert travels as an "alert" event on the
// agent's stream and lands on the container's asset, with the process and
// its ancestry intact.
func TestAlertSink(t *testing.T) {
	s := newTestServer(t)
	a := newAgent(t, s, s.token(1), pki.Fingerprint(s.ca.Certificate()), &fakeHost{}, nil)
	run(t, a)
	eventually(t, "enrollment", func() bool { return a.ID() != "" })

	al := &guard.Alert{Alert: detect.Alert{
		RuleID: "VGL-RT-001", Title: "Reverse shell", Severity: finding.SeverityCritical, Output: "sh with a socket",
		Time: time.Now(),
		Event: sensor.Event{
			Kind:      sensor.KindExec,
			Process:   sensor.Process{PID: 42, Name: "sh", Exe: "/bin/sh", Stdin: "socket"},
			Parents:   []sensor.Process{{PID: 41, Name: "php-fpm"}},
			Container: &sensor.Container{ID: "c0ffee", Image: "web:1"},
		},
	}}
	if err := a.AlertSink().Write(al); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var got []store.Event
	eventually(t, "the alert", func() bool {
		p, err := s.st.ListEvents(ctx, store.ListOptions{Filter: map[string]string{"agent_id": a.ID(), "kind": agent.AlertKind}, Limit: 10})
		got = p.Items
		return err == nil && len(got) == 1
	})
	if got[0].Severity != "critical" || got[0].AssetID != fleet.AssetID(a.ID(), "container", "container:c0ffee") {
		t.Errorf("event = %+v", got[0])
	}
	p, err := s.st.ListEvents(ctx, store.ListOptions{Filter: map[string]string{"agent_id": a.ID(), "kind": agent.AlertKind}, Limit: 10})
	if err != nil || len(p.Items) != 1 {
		t.Fatal(err)
	}
	var back guard.Alert
	if err := json.Unmarshal(p.Items[0].Data, &back); err != nil {
		t.Fatalf("%v: %s", err, p.Items[0].Data)
	}
	if back.RuleID != "VGL-RT-001" || back.Event.Process.Stdin != "socket" || len(back.Event.Parents) != 1 || back.Event.Parents[0].Name != "php-fpm" {
		t.Errorf("alert data = %+v", back)
	}
}

// TestGuardCollector: the runtime metrics are exposed, drops as zero
// series for every kind seen.
func TestGuardCollector(t *testing.T) {
	g, err := guard.New(guard.Options{Sensor: sensor.Options{Degraded: "forced by the test"}})
	if err != nil {
		t.Skipf("no sensor here, not even degraded: %v", err)
	}
	defer g.Close()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(agent.GuardCollector{G: g})
	n, err := testutil.GatherAndCount(reg, "vigil_sensor_mode", "vigil_runtime_sink_errors_total", "vigil_sensor_decode_errors_total")
	if err != nil || n != 3 {
		t.Errorf("gathered %d series, err %v", n, err)
	}
}
