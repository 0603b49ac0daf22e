package store

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestCommentsAndStatus(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		newAgent(t, db, "a1")
		newAsset(t, db, "a1", Asset{ID: "h1", Kind: AssetHost, Name: "web-1"})
		A, B := vf("CVE-1", "openssl", 9, "critical"), vf("CVE-2", "curl", 5, "medium")
		_, err := db.SyncFindings(ctx, "h1", vulnKind, []Finding{A, B}, at(time.Hour))
		must(t, err)

		// Comments: appended in order, listed per finding, paged.
		for i, text := range []string{"looking", "patch on Friday", "中文评论"} {
			c, err := db.AddComment(ctx, A.ID, "user:ana", text, at(time.Duration(i+2)*time.Hour))
			must(t, err)
			if c.ID == 0 || c.FindingID != A.ID || c.Text != text || !c.CreatedAt.Equal(at(time.Duration(i+2)*time.Hour)) {
				t.Errorf("AddComment = %+v", c)
			}
		}
		_, err = db.AddComment(ctx, B.ID, "user:bob", "other thread", at(time.Hour))
		must(t, err)
		got := pageAll(t, 2, ListOptions{Filter: map[string]string{"finding_id": A.ID}}, func(o ListOptions) (Page[Comment], error) {
			return db.ListComments(ctx, o)
		})
		if len(got) != 3 || got[0].Text != "looking" || got[2].Text != "中文评论" || got[1].Author != "user:ana" {
			t.Fatalf("thread of A = %+v", got)
		}
		desc, err := db.ListComments(ctx, ListOptions{Filter: map[string]string{"finding_id": A.ID}, Desc: true, Limit: 1})
		must(t, err)
		if len(desc.Items) != 1 || desc.Items[0].Text != "中文评论" || desc.Next == "" {
			t.Errorf("newest first = %+v", desc)
		}

		_, err = db.AddComment(ctx, "f-none", "user:ana", "x", t0)
		wantErr(t, "unknown finding", err, ErrNotFound)
		_, err = db.AddComment(ctx, A.ID, "user:ana", "", t0)
		wantErr(t, "empty text", err, ErrInvalid)
		_, err = db.AddComment(ctx, A.ID, "", "x", t0)
		wantErr(t, "no author", err, ErrInvalid)
		_, err = db.AddComment(ctx, A.ID, "user:ana", strings.Repeat("x", maxCommentText+1), t0)
		wantErr(t, "too long", err, ErrInvalid)
		_, err = db.AddComment(ctx, A.ID, "user:ana", "bad \xff", t0)
		wantErr(t, "invalid UTF-8", err, ErrInvalid)
		_, err = db.ListComments(ctx, ListOptions{Filter: map[string]string{"author": "x"}})
		wantErr(t, "unknown filter", err, ErrInvalid)

		// Status: only an accepted finding is reopened, recorded in its thread.
		err = db.SetFindingStatus(ctx, A.ID, StatusOpen, "user:ana", "not yet", at(5*time.Hour))
		wantErr(t, "reopen a finding that is not accepted", err, ErrConflict)
		err = db.SetFindingStatus(ctx, A.ID, StatusAccepted, "user:ana", "x", at(5*time.Hour))
		wantErr(t, "set accepted directly", err, ErrInvalid)
		err = db.SetFindingStatus(ctx, A.ID, StatusFixed, "user:ana", "x", at(5*time.Hour))
		wantErr(t, "set fixed", err, ErrInvalid)
		err = db.SetFindingStatus(ctx, "f-none", StatusOpen, "user:ana", "x", at(5*time.Hour))
		wantErr(t, "unknown finding", err, ErrNotFound)

		n, err := db.AcceptFindings(ctx, []string{A.ID}, "vendor says safe", at(48*time.Hour), "user:bob")
		must(t, err)
		if n != 1 {
			t.Fatalf("accepted %d", n)
		}
		vulns := func() Vulnerability {
			p, err := db.ListVulnerabilities(ctx, ListOptions{Filter: map[string]string{"severity": "critical"}})
			must(t, err)
			if len(p.Items) != 1 {
				t.Fatalf("vulnerabilities %+v", p.Items)
			}
			return p.Items[0]
		}
		if v := vulns(); v.Accepted != 1 || v.Open != 0 {
			t.Fatalf("after accept: %+v", v)
		}
		must(t, db.SetFindingStatus(ctx, A.ID, StatusOpen, "user:ana", "the vendor was wrong", at(6*time.Hour)))
		f, err := db.Finding(ctx, A.ID)
		must(t, err)
		if f.Status != StatusOpen || f.AcceptReason != "" || f.AcceptExpires != nil || f.AcceptedBy != "" {
			t.Errorf("reopened finding = %+v", f)
		}
		if v := vulns(); v.Accepted != 0 || v.Open != 1 {
			t.Errorf("vulnerability summary after reopen: %+v", v)
		}
		thread, err := db.ListComments(ctx, ListOptions{Filter: map[string]string{"finding_id": A.ID}, Desc: true, Limit: 1})
		must(t, err)
		if c := thread.Items[0]; c.Status != StatusOpen || c.Text != "the vendor was wrong" || c.Author != "user:ana" {
			t.Errorf("status change in thread = %+v", c)
		}
		// A synced assessment leaves it open (no acceptance left to expire).
		sum, err := db.SyncFindings(ctx, "h1", vulnKind, []Finding{A, B}, at(7*time.Hour))
		must(t, err)
		if sum.Expired != 0 || sum.Unchanged != 2 {
			t.Errorf("sync after reopen = %+v", sum)
		}
	})
}

func TestChannels(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		cfg := json.RawMessage(`{"url":"https://oapi.dingtalk.com/robot/send?access_token=x","secret":"SEC123"}`)
		d, err := db.CreateChannel(ctx, Channel{Name: "ops-dingtalk", Kind: ChannelDingTalk, Config: cfg, Enabled: true,
			CreatedBy: "user:root", CreatedAt: at(time.Hour)})
		must(t, err)
		if d.ID == 0 || d.MinSeverity != "high" {
			t.Errorf("created %+v", d)
		}
		s, err := db.CreateChannel(ctx, Channel{Name: "alerts-slack", Kind: ChannelSlack, MinSeverity: "Critical",
			Config: json.RawMessage(`{"url":"https://hooks.slack.com/services/T/B/x"}`), CreatedAt: at(2 * time.Hour)})
		must(t, err)
		if s.MinSeverity != "critical" || s.Enabled {
			t.Errorf("created %+v", s)
		}
		for name, ch := range map[string]Channel{
			"duplicate name": {Name: "ops-dingtalk", Kind: ChannelSlack, Config: cfg},
		} {
			_, err := db.CreateChannel(ctx, ch)
			wantErr(t, name, err, ErrConflict)
		}
		for name, ch := range map[string]Channel{
			"no name":      {Kind: ChannelSlack, Config: cfg},
			"bad kind":     {Name: "x", Kind: "pager", Config: cfg},
			"no config":    {Name: "x", Kind: ChannelSlack},
			"array config": {Name: "x", Kind: ChannelSlack, Config: json.RawMessage(`[1]`)},
			"bad json":     {Name: "x", Kind: ChannelSlack, Config: json.RawMessage(`{`)},
			"bad severity": {Name: "x", Kind: ChannelSlack, Config: cfg, MinSeverity: "urgent"},
		} {
			_, err := db.CreateChannel(ctx, ch)
			wantErr(t, name, err, ErrInvalid)
		}

		got, err := db.Channel(ctx, d.ID)
		must(t, err)
		var a, b any
		must(t, json.Unmarshal(got.Config, &a))
		must(t, json.Unmarshal(cfg, &b))
		if got.Name != d.Name || got.Kind != ChannelDingTalk || !got.Enabled || !got.CreatedAt.Equal(at(time.Hour)) || got.CreatedBy != "user:root" {
			t.Errorf("Channel = %+v", got)
		}
		if string(mustJSON(t, a)) != string(mustJSON(t, b)) {
			t.Errorf("config %s, want %s", got.Config, cfg)
		}
		all := pageAll(t, 1, ListOptions{}, func(o ListOptions) (Page[Channel], error) { return db.ListChannels(ctx, o) })
		if len(all) != 2 || all[0].Name != "alerts-slack" || all[1].Name != "ops-dingtalk" || len(all[1].Config) == 0 {
			t.Errorf("ListChannels = %+v", all)
		}
		en, err := db.ListChannels(ctx, ListOptions{Filter: map[string]string{"enabled": "true"}})
		must(t, err)
		if len(en.Items) != 1 || en.Items[0].ID != d.ID {
			t.Errorf("enabled = %+v", en.Items)
		}
		_, err = db.ListChannels(ctx, ListOptions{Filter: map[string]string{"kind": "pager"}})
		wantErr(t, "unknown kind filter", err, ErrInvalid)

		// Deliveries.
		must(t, db.RecordDelivery(ctx, d.ID, at(3*time.Hour), ""))
		must(t, db.RecordDelivery(ctx, d.ID, at(4*time.Hour), strings.Repeat("é", 400)))
		got, err = db.Channel(ctx, d.ID)
		must(t, err)
		if got.LastSentAt == nil || !got.LastSentAt.Equal(at(3*time.Hour)) || len(got.LastError) > maxDeliveryError || !strings.HasPrefix(got.LastError, "é") {
			t.Errorf("after a failure: %v %q", got.LastSentAt, got.LastError)
		}
		must(t, db.RecordDelivery(ctx, d.ID, at(5*time.Hour), ""))
		got, _ = db.Channel(ctx, d.ID)
		if got.LastError != "" || !got.LastSentAt.Equal(at(5*time.Hour)) {
			t.Errorf("after a success: %v %q", got.LastSentAt, got.LastError)
		}
		wantErr(t, "record unknown", db.RecordDelivery(ctx, 999, t0, ""), ErrNotFound)

		must(t, db.DeleteChannel(ctx, d.ID))
		wantErr(t, "delete again", db.DeleteChannel(ctx, d.ID), ErrNotFound)
		_, err = db.Channel(ctx, d.ID)
		wantErr(t, "deleted", err, ErrNotFound)
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	must(t, err)
	return b
}
