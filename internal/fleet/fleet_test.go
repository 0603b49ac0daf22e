package fleet_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/fleet"
	"github.com/vigil-sec/vigil/internal/store"
)

func TestSilentAgentRaisesOneEvent(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	start := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	now := start
	s := fleet.New(fleet.Options{Store: st, Now: func() time.Time { return now }})
	for _, id := range []string{"quiet", "chatty"} {
		if _, err := st.CreateAgent(ctx, store.Agent{ID: id, Hostname: id, AssetID: fleet.AssetID(id, "host", "host"),
			EnrolledAt: start, LastSeen: start, Heartbeat: 30 * time.Second, CertSerial: id}); err != nil {
			t.Fatal(err)
		}
	}
	silentEvents := func() []store.Event {
		p, err := st.ListEvents(ctx, store.ListOptions{Filter: map[string]string{"kind": "agent.silent"}})
		if err != nil {
			t.Fatal(err)
		}
		return p.Items
	}
	// Within twice the heartbeat: nothing.
	now = start.Add(59 * time.Second)
	s.CheckSilent(ctx)
	if evs := silentEvents(); len(evs) != 0 {
		t.Fatalf("silent events before 2× heartbeat: %+v", evs)
	}
	// The chatty agent heartbeats; the quiet one passes 2× its heartbeat.
	if err := st.AgentHeartbeat(ctx, "chatty", now, nil); err != nil {
		t.Fatal(err)
	}
	now = start.Add(61 * time.Second)
	s.CheckSilent(ctx)
	s.CheckSilent(ctx) // once per silence, not once per pass
	evs := silentEvents()
	if len(evs) != 1 || evs[0].AgentID != "quiet" || evs[0].Severity != "high" {
		t.Fatalf("silent events %+v, want one for quiet", evs)
	}
	if a, _ := st.Agent(ctx, "quiet"); !a.Silent {
		t.Error("quiet agent not marked silent")
	}
	// It speaks again: no longer silent, and a later silence alerts again.
	if err := st.AgentHeartbeat(ctx, "quiet", now, nil); err != nil {
		t.Fatal(err)
	}
	if a, _ := st.Agent(ctx, "quiet"); a.Silent {
		t.Error("heartbeat did not clear Silent")
	}
	now = now.Add(2 * time.Minute)
	s.CheckSilent(ctx)
	if n := len(silentEvents()); n != 3 { // quiet again, and chatty now too
		t.Errorf("%d silent events after the second silence, want 3", n)
	}
}

// TestAssetIDsAreNamespaced: two agents reporting the same local asset IDs
// never share (or overwrite) an asset.
func TestAssetIDsAreNamespaced(t *testing.T) {
	a, b := fleet.AssetID("agent-a", "host", "host"), fleet.AssetID("agent-b", "host", "host")
	if a == b {
		t.Fatal("two agents' hosts have the same asset ID")
	}
	if fleet.AssetID("agent-a", "container", "container:x") == fleet.AssetID("agent-a", "image", "container:x") {
		t.Error("kinds share an ID space")
	}
	if fleet.AssetID("agent-a", "host", "host") != a {
		t.Error("AssetID is not stable")
	}
}
