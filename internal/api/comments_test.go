package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

func TestFindingCommentsAndStatus(t *testing.T) {
	e := newEnv(t)
	_, fs := e.seedAgent("a1")
	id := fs[0].ID
	ana, rita := e.session(e.analyst), e.session(e.readonly)
	base := "/api/v1/findings/" + id

	var c store.Comment
	want(t, e.do("POST", base+"/comments", ana, map[string]string{"text": "patching tonight\nsee ticket OPS-1"}), http.StatusCreated, &c)
	if c.ID == 0 || c.Author != "user:ana" || c.FindingID != id || c.Text != "patching tonight\nsee ticket OPS-1" {
		t.Errorf("created %+v", c)
	}
	for name, body := range map[string]any{
		"empty":         map[string]string{"text": ""},
		"control chars": map[string]string{"text": "a\x00b"},
		"too long":      map[string]string{"text": strings.Repeat("x", maxCommentText+1)},
		"unknown field": `{"text":"x","author":"someone"}`,
	} {
		if w := e.do("POST", base+"/comments", ana, body); w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, w.Code, w.Body.String())
		}
	}
	if w := e.do("POST", "/api/v1/findings/nope/comments", ana, map[string]string{"text": "x"}); w.Code != http.StatusNotFound {
		t.Errorf("unknown finding: %d", w.Code)
	}
	if w := e.do("POST", base+"/comments", rita, map[string]string{"text": "x"}); w.Code != http.StatusForbidden {
		t.Errorf("read-only comment: %d", w.Code)
	}

	// Status: only an accepted finding reopens.
	w := e.do("POST", base+"/status", ana, map[string]string{"status": "open", "reason": "why not"})
	if w.Code != http.StatusConflict {
		t.Errorf("reopen of an open finding: %d %s", w.Code, w.Body.String())
	}
	if w := e.do("POST", base+"/status", ana, map[string]string{"status": "accepted", "reason": "x"}); w.Code != http.StatusBadRequest {
		t.Errorf("status accepted: %d", w.Code)
	}
	if w := e.do("POST", base+"/status", ana, map[string]string{"status": "open"}); w.Code != http.StatusBadRequest {
		t.Errorf("no reason: %d", w.Code)
	}
	want(t, e.do("POST", "/api/v1/findings/accept", ana, acceptRequest{IDs: []string{id}, Reason: "vendor fix next week",
		Expires: e.clock.Now().Add(7 * 24 * time.Hour)}), http.StatusOK, nil)
	var f store.Finding
	want(t, e.do("POST", base+"/status", ana, map[string]string{"status": "open", "reason": "exploit published"}), http.StatusOK, &f)
	if f.Status != store.StatusOpen || f.AcceptReason != "" {
		t.Errorf("after reopen %+v", f)
	}

	var pg pageBody[store.Comment]
	want(t, e.do("GET", base+"/comments", ana, nil), http.StatusOK, &pg)
	if len(pg.Items) != 2 || pg.Items[0].ID != c.ID || pg.Items[1].Status != "open" || pg.Items[1].Text != "exploit published" {
		t.Errorf("thread %+v", pg.Items)
	}
	if w := e.do("GET", base+"/comments?finding_id=other", ana, nil); w.Code != http.StatusBadRequest {
		t.Errorf("finding_id in the query: %d", w.Code)
	}
	if w := e.do("GET", "/api/v1/findings/nope/comments", ana, nil); w.Code != http.StatusNotFound {
		t.Errorf("thread of an unknown finding: %d", w.Code)
	}

	acts := map[string]store.AuditEntry{}
	for _, a := range e.audits() {
		acts[a.Action] = a
	}
	if a := acts[actFindingComment]; a.Target != "finding:"+id || a.Actor != "user:ana" {
		t.Errorf("comment audit %+v", a)
	}
	if a := acts[actFindingStatus]; a.Target != "finding:"+id || !strings.Contains(string(a.Detail), `"to":"open"`) {
		t.Errorf("status audit %+v", a)
	}
}

// notifier records test messages and fails when told to.
type notifier struct {
	mu   sync.Mutex
	sent []string
	err  error
}

func (n *notifier) Test(_ context.Context, ch store.Channel, text string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent = append(n.sent, ch.Name+": "+text)
	return n.err
}

func TestNotificationChannels(t *testing.T) {
	e := newEnv(t)
	n := &notifier{}
	e.srv = New(Options{Store: e.st, Now: e.clock.Now, Notifier: n})
	root := e.session(e.admin)

	body := map[string]any{"name": "ops", "kind": "dingtalk", "minSeverity": "critical",
		"config": map[string]string{"url": "https://oapi.dingtalk.com/robot/send?access_token=TOKEN1", "secret": "SECRET1"}}
	w := e.do("POST", "/api/v1/notification-channels", root, body)
	var ch channelView
	want(t, w, http.StatusCreated, &ch)
	if strings.Contains(w.Body.String(), "TOKEN1") || strings.Contains(w.Body.String(), "SECRET1") {
		t.Errorf("secrets in the answer: %s", w.Body.String())
	}
	if ch.ID == 0 || ch.Kind != "dingtalk" || ch.MinSeverity != "critical" || !ch.Enabled || ch.Target != "https://oapi.dingtalk.com (signed)" {
		t.Errorf("created %+v", ch)
	}
	stored, err := e.st.Channel(e.ctx, ch.ID)
	if err != nil || !strings.Contains(string(stored.Config), "SECRET1") {
		t.Errorf("stored config %s (%v)", stored.Config, err)
	}
	if w := e.do("POST", "/api/v1/notification-channels", root, body); w.Code != http.StatusConflict {
		t.Errorf("duplicate name: %d", w.Code)
	}
	for name, b := range map[string]any{
		"bad kind":     map[string]any{"name": "x", "kind": "pager", "config": map[string]string{"url": "https://x"}},
		"bad config":   map[string]any{"name": "x", "kind": "slack", "config": map[string]string{"url": "ftp://x"}},
		"bad severity": map[string]any{"name": "x", "kind": "slack", "minSeverity": "urgent", "config": map[string]string{"url": "https://x"}},
		"no name":      map[string]any{"kind": "slack", "config": map[string]string{"url": "https://x"}},
	} {
		if w := e.do("POST", "/api/v1/notification-channels", root, b); w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, w.Code, w.Body.String())
		}
	}

	w = e.do("GET", "/api/v1/notification-channels", root, nil)
	var pg pageBody[channelView]
	want(t, w, http.StatusOK, &pg)
	if len(pg.Items) != 1 || strings.Contains(w.Body.String(), "SECRET1") || strings.Contains(w.Body.String(), "config") {
		t.Errorf("list %s", w.Body.String())
	}

	path := "/api/v1/notification-channels/" + jsonNum(ch.ID)
	want(t, e.do("POST", path+"/test", root, nil), http.StatusOK, nil)
	want(t, e.do("POST", path+"/test", root, map[string]string{"text": "hello"}), http.StatusOK, nil)
	n.err = errString("notify dingtalk: POST oapi.dingtalk.com: errcode 310000: sign not match")
	w = e.do("POST", path+"/test", root, nil)
	if w.Code != http.StatusBadGateway || errCode(t, w) != codeDelivery || !strings.Contains(w.Body.String(), "310000") {
		t.Errorf("failed test: %d %s", w.Code, w.Body.String())
	}
	if len(n.sent) != 3 || n.sent[1] != "ops: hello" {
		t.Errorf("sent %q", n.sent)
	}
	if w := e.do("POST", "/api/v1/notification-channels/999/test", root, nil); w.Code != http.StatusNotFound {
		t.Errorf("test of an unknown channel: %d", w.Code)
	}

	if w := e.do("DELETE", path, root, nil); w.Code != http.StatusNoContent {
		t.Errorf("delete: %d", w.Code)
	}
	if w := e.do("DELETE", path, root, nil); w.Code != http.StatusNotFound {
		t.Errorf("delete again: %d", w.Code)
	}
	var actions []string
	for _, a := range e.audits() {
		if strings.HasPrefix(a.Action, "notification_channel.") {
			actions = append(actions, a.Action)
			if strings.Contains(string(a.Detail), "SECRET1") || strings.Contains(string(a.Detail), "TOKEN1") {
				t.Errorf("secret in the audit log: %s", a.Detail)
			}
		}
	}
	if strings.Join(actions, " ") != "notification_channel.create notification_channel.test notification_channel.test notification_channel.test notification_channel.delete" {
		t.Errorf("audit %v", actions)
	}

	// Without a notifier, tests are unavailable.
	e.srv = New(Options{Store: e.st, Now: e.clock.Now})
	w = e.do("POST", "/api/v1/notification-channels", root, map[string]any{"name": "s", "kind": "slack", "config": map[string]string{"url": "https://hooks.slack.com/x"}})
	want(t, w, http.StatusCreated, &ch)
	if w := e.do("POST", "/api/v1/notification-channels/"+jsonNum(ch.ID)+"/test", root, nil); w.Code != http.StatusServiceUnavailable {
		t.Errorf("without a notifier: %d", w.Code)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func jsonNum(n int64) string { b, _ := json.Marshal(n); return string(b) }
