package store

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestEnrollTokens(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		mk := func(name string, hash byte, expires time.Time, maxUses int) EnrollToken {
			t.Helper()
			tok, err := db.CreateEnrollToken(ctx, EnrollToken{Name: name, Hash: []byte{hash}, Labels: map[string]string{"env": "prod"},
				ExpiresAt: expires, MaxUses: maxUses, CreatedBy: "user:alice", CreatedAt: at(time.Duration(hash) * time.Second)})
			must(t, err)
			return tok
		}
		once := mk("once", 1, at(time.Hour), 1)
		unlimited := mk("unlimited", 2, at(2*time.Hour), 0)
		revoked := mk("revoked", 3, at(3*time.Hour), 0)
		expired := mk("expired", 4, at(-time.Hour), 0)
		_, err := db.CreateEnrollToken(ctx, EnrollToken{Name: "dup", Hash: []byte{1}, ExpiresAt: at(time.Hour)})
		wantErr(t, "duplicate hash", err, ErrConflict)
		_, err = db.CreateEnrollToken(ctx, EnrollToken{Name: "neg", Hash: []byte{9}, ExpiresAt: at(time.Hour), MaxUses: -1})
		wantErr(t, "negative max uses", err, ErrInvalid)

		got, err := db.EnrollToken(ctx, once.ID)
		must(t, err)
		if diff := cmp.Diff(once, got); diff != "" {
			t.Errorf("EnrollToken (-created +read):\n%s", diff)
		}
		_, err = db.EnrollToken(ctx, 999)
		wantErr(t, "unknown", err, ErrNotFound)

		must(t, db.RevokeEnrollToken(ctx, revoked.ID, t0))
		wantErr(t, "revoke unknown", db.RevokeEnrollToken(ctx, 999, t0), ErrNotFound)

		used, err := db.UseEnrollToken(ctx, []byte{1}, t0)
		must(t, err)
		if used.ID != once.ID || used.Uses != 1 || used.Labels["env"] != "prod" {
			t.Errorf("UseEnrollToken = %+v", used)
		}
		for _, tc := range []struct {
			name string
			hash byte
			now  time.Time
		}{
			{"used up", 1, t0},
			{"revoked", 3, t0},
			{"expired", 4, t0},
			{"at expiry", 2, at(2 * time.Hour)},
			{"unknown", 7, t0},
		} {
			_, err := db.UseEnrollToken(ctx, []byte{tc.hash}, tc.now)
			if !errors.Is(err, ErrEnrollToken) {
				t.Errorf("UseEnrollToken %s: %v, want ErrEnrollToken", tc.name, err)
			}
		}
		for range 3 {
			_, err := db.UseEnrollToken(ctx, []byte{2}, at(time.Hour))
			must(t, err)
		}
		got, _ = db.EnrollToken(ctx, unlimited.ID)
		if got.Uses != 3 {
			t.Errorf("unlimited token uses = %d, want 3", got.Uses)
		}

		ids := func(o ListOptions) []int64 {
			t.Helper()
			p, err := db.ListEnrollTokens(ctx, o)
			must(t, err)
			var out []int64
			for _, e := range p.Items {
				out = append(out, e.ID)
			}
			return out
		}
		now := map[string]string{"now": rfc(t0)}
		for _, tc := range []struct {
			name string
			o    ListOptions
			want []int64
		}{
			{"default", ListOptions{}, []int64{once.ID, unlimited.ID, revoked.ID, expired.ID}},
			{"expires", ListOptions{Sort: "expires"}, []int64{expired.ID, once.ID, unlimited.ID, revoked.ID}},
			{"expires desc", ListOptions{Sort: "expires", Desc: true}, []int64{revoked.ID, unlimited.ID, once.ID, expired.ID}},
			{"active", ListOptions{Filter: map[string]string{"active": "true", "now": rfc(t0)}}, []int64{unlimited.ID}},
			{"inactive", ListOptions{Filter: map[string]string{"active": "false", "now": rfc(t0)}}, []int64{once.ID, revoked.ID, expired.ID}},
			{"active later", ListOptions{Filter: map[string]string{"active": "true", "now": rfc(at(3 * time.Hour))}}, nil},
			{"now alone", ListOptions{Filter: now}, []int64{once.ID, unlimited.ID, revoked.ID, expired.ID}},
		} {
			if got := ids(tc.o); !cmp.Equal(got, tc.want) {
				t.Errorf("ListEnrollTokens %s = %v, want %v", tc.name, got, tc.want)
			}
		}
		for _, f := range []map[string]string{{"active": "maybe"}, {"now": "today"}, {"name": "x"}} {
			_, err := db.ListEnrollTokens(ctx, ListOptions{Filter: f})
			wantErr(t, "ListEnrollTokens bad filter", err, ErrInvalid)
		}
	})
}

// TestEnrollTokenRace has 20 enrollments race for a token of 5 uses:
// exactly 5 win.
func TestEnrollTokenRace(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		tok, err := db.CreateEnrollToken(ctx, EnrollToken{Name: "five", Hash: []byte("five"), ExpiresAt: at(time.Hour), MaxUses: 5})
		must(t, err)
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins, losses := 0, 0
		start := make(chan struct{})
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := db.UseEnrollToken(ctx, []byte("five"), t0)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case errors.Is(err, ErrEnrollToken):
					losses++
				default:
					t.Errorf("UseEnrollToken: %v", err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if wins != 5 || losses != 15 {
			t.Errorf("%d enrollments won and %d lost, want 5 and 15", wins, losses)
		}
		got, err := db.EnrollToken(ctx, tok.ID)
		must(t, err)
		if got.Uses != 5 {
			t.Errorf("Uses = %d, want 5", got.Uses)
		}
	})
}

func TestAgents(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		a1, err := db.CreateAgent(ctx, Agent{ID: "a1", Hostname: "web-1", Version: "1.0.0", Labels: map[string]string{"env": "prod", "team": "web"},
			AssetID: "h-1", EnrolledAt: t0, Heartbeat: time.Minute, CertSerial: "s1", CertNotAfter: at(24 * time.Hour),
			Config: json.RawMessage(`{"interval":"1m"}`)})
		must(t, err)
		if !a1.LastSeen.Equal(t0) {
			t.Errorf("LastSeen defaults to %v, want EnrolledAt", a1.LastSeen)
		}
		_, err = db.CreateAgent(ctx, Agent{ID: "a1", Hostname: "again"})
		wantErr(t, "duplicate id", err, ErrConflict)
		_, err = db.CreateAgent(ctx, Agent{Hostname: "no id"})
		wantErr(t, "no id", err, ErrInvalid)
		_, err = db.CreateAgent(ctx, Agent{ID: "a9", CertSerial: "s1"})
		wantErr(t, "serial reused", err, ErrConflict)
		if _, err := db.Agent(ctx, "a9"); !errors.Is(err, ErrNotFound) {
			t.Errorf("agent of a failed CreateAgent exists (%v)", err)
		}
		a2, err := db.CreateAgent(ctx, Agent{ID: "a2", Hostname: "db-1", Version: "1.1.0", Labels: map[string]string{"env": "dev"},
			EnrolledAt: at(time.Minute), Heartbeat: 10 * time.Minute, CertSerial: "s2", CertNotAfter: at(24 * time.Hour)})
		must(t, err)
		a3, err := db.CreateAgent(ctx, Agent{ID: "a3", Hostname: "api-1", Version: "1.0.0", EnrolledAt: at(2 * time.Minute),
			Heartbeat: time.Minute, CertSerial: "s3", CertNotAfter: at(24 * time.Hour)})
		must(t, err)

		got, err := db.Agent(ctx, "a1")
		must(t, err)
		if diff := cmp.Diff(a1, got, cmp.Comparer(jsonEqual)); diff != "" {
			t.Errorf("Agent (-created +read):\n%s", diff)
		}
		_, err = db.Agent(ctx, "nope")
		wantErr(t, "unknown agent", err, ErrNotFound)

		// Certificates: rotation keeps the old serial valid; revocation
		// revokes every serial of the agent.
		must(t, db.SetAgentCert(ctx, "a1", "s1b", at(48*time.Hour)))
		got, _ = db.Agent(ctx, "a1")
		if got.CertSerial != "s1b" || !got.CertNotAfter.Equal(at(48*time.Hour)) {
			t.Errorf("after SetAgentCert: %s %v", got.CertSerial, got.CertNotAfter)
		}
		wantErr(t, "SetAgentCert unknown", db.SetAgentCert(ctx, "nope", "s9", t0), ErrNotFound)
		wantErr(t, "SetAgentCert reused serial", db.SetAgentCert(ctx, "a2", "s1", t0), ErrConflict)
		for serial, want := range map[string]bool{"s1": false, "s1b": false, "s2": false} {
			got, err := db.SerialRevoked(ctx, serial)
			must(t, err)
			if got != want {
				t.Errorf("SerialRevoked(%s) = %v before revocation", serial, got)
			}
		}
		_, err = db.SerialRevoked(ctx, "never-issued")
		wantErr(t, "unknown serial", err, ErrNotFound)
		must(t, db.RevokeAgent(ctx, "a1", at(time.Hour)))
		wantErr(t, "RevokeAgent unknown", db.RevokeAgent(ctx, "nope", t0), ErrNotFound)
		for serial, want := range map[string]bool{"s1": true, "s1b": true, "s2": false} {
			got, err := db.SerialRevoked(ctx, serial)
			must(t, err)
			if got != want {
				t.Errorf("SerialRevoked(%s) = %v, want %v", serial, got, want)
			}
		}

		must(t, db.SetAgentConfig(ctx, "a2", json.RawMessage(`{"caps":{"events":100}}`)))
		got, _ = db.Agent(ctx, "a2")
		if !jsonEqual(got.Config, json.RawMessage(`{"caps":{"events":100}}`)) {
			t.Errorf("Config = %s", got.Config)
		}
		wantErr(t, "SetAgentConfig unknown", db.SetAgentConfig(ctx, "nope", nil), ErrNotFound)
		wantErr(t, "SetAgentConfig bad JSON", db.SetAgentConfig(ctx, "a2", json.RawMessage(`{x`)), ErrInvalid)

		must(t, db.AgentHeartbeat(ctx, "a3", at(3*time.Minute), json.RawMessage(`{"rss":1000}`)))
		must(t, db.AgentHeartbeat(ctx, "a3", at(4*time.Minute), nil))
		got, _ = db.Agent(ctx, "a3")
		if !got.LastSeen.Equal(at(4*time.Minute)) || !jsonEqual(got.Stats, json.RawMessage(`{"rss":1000}`)) {
			t.Errorf("after heartbeats: LastSeen %v Stats %s", got.LastSeen, got.Stats)
		}
		wantErr(t, "AgentHeartbeat unknown", db.AgentHeartbeat(ctx, "nope", t0, nil), ErrNotFound)

		// Silence: a1 is revoked; a2 (10m heartbeat, seen at +1m) is due
		// after +21m; a3 (1m, seen at +4m) after +6m.
		silent := func(now time.Time) []string {
			t.Helper()
			as, err := db.SilentAgents(ctx, now)
			must(t, err)
			var ids []string
			for _, a := range as {
				if !a.Silent {
					t.Errorf("SilentAgents returned %s without Silent", a.ID)
				}
				ids = append(ids, a.ID)
			}
			return ids
		}
		if got := silent(at(6 * time.Minute)); got != nil {
			t.Errorf("silent at +6m: %v, want none", got)
		}
		if got := silent(at(7 * time.Minute)); !cmp.Equal(got, []string{"a3"}) {
			t.Errorf("silent at +7m: %v, want [a3]", got)
		}
		if got := silent(at(8 * time.Minute)); got != nil {
			t.Errorf("silent again at +8m: %v, want none (already silent)", got)
		}
		if got := silent(at(22 * time.Minute)); !cmp.Equal(got, []string{"a2"}) {
			t.Errorf("silent at +22m: %v, want [a2]", got)
		}
		must(t, db.AgentHeartbeat(ctx, "a3", at(23*time.Minute), nil))
		got, _ = db.Agent(ctx, "a3")
		if got.Silent {
			t.Error("heartbeat did not clear Silent")
		}
		if got := silent(at(26 * time.Minute)); !cmp.Equal(got, []string{"a3"}) {
			t.Errorf("silent at +26m: %v, want [a3]", got)
		}

		// Lists. Now: a1 revoked, a2 and a3 silent.
		ingest(t, db, "a3", func(in Ingester) error { return in.TouchAgent(ctx, "a3", at(30*time.Minute), "", "") })
		list := func(o ListOptions) []string {
			t.Helper()
			p, err := db.ListAgents(ctx, o)
			must(t, err)
			var ids []string
			for _, a := range p.Items {
				ids = append(ids, a.ID)
			}
			return ids
		}
		for _, tc := range []struct {
			o    ListOptions
			want []string
		}{
			{ListOptions{}, []string{"a3", "a2", "a1"}}, // api-1, db-1, web-1
			{ListOptions{Desc: true}, []string{"a1", "a2", "a3"}},
			{ListOptions{Sort: "enrolled"}, []string{"a1", "a2", "a3"}},
			{ListOptions{Sort: "last_seen", Desc: true}, []string{"a3", "a2", "a1"}},
			{ListOptions{Filter: map[string]string{"hostname": "db-1"}}, []string{"a2"}},
			{ListOptions{Filter: map[string]string{"version": "1.0.0"}}, []string{"a3", "a1"}},
			{ListOptions{Filter: map[string]string{"silent": "true"}}, []string{"a2"}},
			{ListOptions{Filter: map[string]string{"silent": "false"}}, []string{"a3", "a1"}},
			{ListOptions{Filter: map[string]string{"revoked": "true"}}, []string{"a1"}},
			{ListOptions{Filter: map[string]string{"revoked": "false"}}, []string{"a3", "a2"}},
			{ListOptions{Filter: map[string]string{"label": "env=prod"}}, []string{"a1"}},
			{ListOptions{Filter: map[string]string{"label": "team=web", "revoked": "true"}}, []string{"a1"}},
			{ListOptions{Filter: map[string]string{"label": "env=staging"}}, nil},
		} {
			if got := list(tc.o); !cmp.Equal(got, tc.want) {
				t.Errorf("ListAgents(%+v) = %v, want %v", tc.o, got, tc.want)
			}
		}
		for _, f := range []map[string]string{{"label": "env"}, {"silent": "1"}, {"asset_id": "x"}} {
			_, err := db.ListAgents(ctx, ListOptions{Filter: f})
			wantErr(t, "ListAgents bad filter", err, ErrInvalid)
		}
		_ = a2
		_ = a3
	})
}
