package notify

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// TestDispatcher runs the dispatcher on a real SQLite store against
// loopback services: new findings reach the channels whose minimum
// severity they meet, agent silences too, and deliveries are recorded.
func TestDispatcher(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.CreateAgent(ctx, store.Agent{ID: "a1", Hostname: "web-1", EnrolledAt: fixed, LastSeen: fixed,
		Heartbeat: time.Minute, CertSerial: "s1", CertNotAfter: fixed.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Ingest(ctx, "a1", 1, func(in store.Ingester) error {
		return in.UpsertAsset(ctx, store.Asset{ID: "h1", Kind: store.AssetHost, Name: "web-1", AgentID: "a1", FirstSeen: fixed, LastSeen: fixed})
	}); err != nil {
		t.Fatal(err)
	}
	sync, err := st.SyncFindings(ctx, "h1", "vulnerability", []store.Finding{
		{ID: "f1", RuleID: "CVE-2026-0001", Severity: "critical", Risk: 9, Package: "openssl", PackageVersion: "3.0.1", FixedVersion: "3.0.2"},
		{ID: "f2", RuleID: "CVE-2026-0002", Severity: "low", Risk: 1, Package: "zlib", PackageVersion: "1.2"},
	}, fixed)
	if err != nil {
		t.Fatal(err)
	}

	hookSrv, hookHits := service(t, answer(200, ""))
	slackSrv, slackHits := service(t, answer(500, "down"))
	mk := func(name, kind, min, url string, enabled bool) store.Channel {
		ch, err := st.CreateChannel(ctx, store.Channel{Name: name, Kind: kind, MinSeverity: min, Enabled: enabled,
			Config: cfg(t, Config{URL: url})})
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}
	hook := mk("all", "webhook", "low", hookSrv.URL+"/hook", true)
	slack := mk("critical-only", "slack", "critical", slackSrv.URL+"/services/x", true)
	mk("off", "webhook", "low", hookSrv.URL+"/off", false)

	d := NewDispatcher(st, testSender(), nil)
	go d.Run(ctx)
	d.Assessed("h1", store.FindingsSync{}) // nothing new: nothing sent
	d.Assessed("h1", sync)
	d.Events([]store.Event{
		{Kind: "process.exec", AgentID: "a1"},
		{Kind: "agent.silent", AgentID: "a1", AssetID: "h1", Severity: "high", Time: fixed,
			Data: json.RawMessage(`{"hostname":"web-1","lastSeen":"2026-03-01T11:58:00Z"}`)},
	})
	deadline := time.Now().Add(5 * time.Second)
	for (len(hookHits()) < 2 || len(slackHits()) < 3) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // nothing more arrives
	hh := hookHits()
	if len(hh) != 2 {
		t.Fatalf("webhook got %d messages", len(hh))
	}
	var m struct {
		Event, Severity, Title, Text string
		Data                         struct {
			AssetID  string `json:"assetId"`
			Findings []struct{ ID string }
		}
	}
	if err := json.Unmarshal(hh[0].body, &m); err != nil {
		t.Fatal(err)
	}
	if m.Event != EventFindings || m.Title != "2 new findings on web-1" || m.Severity != "critical" || len(m.Data.Findings) != 2 ||
		m.Data.Findings[0].ID != "f1" || !strings.Contains(m.Text, "- [critical] CVE-2026-0001 in openssl 3.0.1 (fixed in 3.0.2)") {
		t.Errorf("findings message %s", hh[0].body)
	}
	if err := json.Unmarshal(hh[1].body, &m); err != nil {
		t.Fatal(err)
	}
	if m.Event != EventSilent || m.Title != "Agent silent: web-1" {
		t.Errorf("silent message %s", hh[1].body)
	}
	// The critical-only channel got the findings (one critical, tried 3
	// times), not the silence (high).
	sh := slackHits()
	if len(sh) != 3 || !strings.Contains(string(sh[0].body), "1 new finding on web-1") {
		t.Errorf("slack got %d: %s", len(sh), sh[0].body)
	}
	h, _ := st.Channel(ctx, hook.ID)
	s, _ := st.Channel(ctx, slack.ID)
	if h.LastSentAt == nil || h.LastError != "" || s.LastSentAt != nil || !strings.Contains(s.LastError, "500") {
		t.Errorf("deliveries: hook %v %q, slack %v %q", h.LastSentAt, h.LastError, s.LastSentAt, s.LastError)
	}

	// A test message.
	if err := d.Test(ctx, h, ""); err != nil {
		t.Fatal(err)
	}
	if b := string(hookHits()[2].body); !strings.Contains(b, `"event":"test"`) || !strings.Contains(b, `channel \"all\"`) {
		t.Errorf("test message %s", b)
	}
}
