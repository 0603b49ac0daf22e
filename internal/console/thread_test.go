package console

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

func TestFindingCommentsAndReopen(t *testing.T) {
	e := newEnv(t, envOptions{})
	ana := e.signedIn(analystName, analystPassword)
	const page = "/findings/f-web-ssh"
	body := ana.page(page)
	for _, want := range []string{"SSH permits root login", "No comments yet", `action="/findings/f-web-ssh/comments"`,
		`for="c-text"`, `action="/findings/accept"`, `name="id" value="f-web-ssh"`} {
		if !strings.Contains(body, want) {
			t.Errorf("finding page lacks %s", want)
		}
	}
	csrf := ana.csrf(body)

	// Comment (multi-line), then see it in the thread.
	r := ana.post(page+"/comments", url.Values{"csrf": {csrf}, "text": {"Root login is needed by the backup job.\r\nTicket OPS-42."}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != page+"#comments" {
		t.Fatalf("comment: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	body = ana.page(page)
	if !strings.Contains(body, "Root login is needed by the backup job.\nTicket OPS-42.") || !strings.Contains(body, "user:ana") || !strings.Contains(body, "Comment added.") {
		t.Errorf("thread does not show the comment")
	}
	for name, form := range map[string]url.Values{
		"empty":     {"csrf": {csrf}, "text": {"  "}},
		"control":   {"csrf": {csrf}, "text": {"a\x01b"}},
		"no csrf":   {"text": {"x"}},
		"long text": {"csrf": {csrf}, "text": {strings.Repeat("x", maxComment+1)}},
	} {
		if r := ana.post(page+"/comments", form); r.StatusCode != http.StatusBadRequest && r.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d", name, r.StatusCode)
		}
	}

	// Accept from the finding page, then reopen with a reason.
	r = ana.post("/findings/accept", url.Values{"csrf": {csrf}, "id": {"f-web-ssh"}, "reason": {"compensating control"}, "expires": {soon}, "next": {page}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept: %d\n%s", r.StatusCode, r.body)
	}
	body = ana.page(page)
	if !strings.Contains(body, `action="/findings/f-web-ssh/status"`) || strings.Contains(body, `action="/findings/accept"`) {
		t.Fatal("an accepted finding offers no reopen form")
	}
	if r := ana.post(page+"/status", url.Values{"csrf": {csrf}, "status": {"accepted"}, "reason": {"x"}}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("status accepted: %d", r.StatusCode)
	}
	if r := ana.post(page+"/status", url.Values{"csrf": {csrf}, "status": {"open"}}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("no reason: %d", r.StatusCode)
	}
	r = ana.post(page+"/status", url.Values{"csrf": {csrf}, "status": {"open"}, "reason": {"control removed"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reopen: %d\n%s", r.StatusCode, r.body)
	}
	body = ana.page(page)
	if !strings.Contains(body, "Finding reopened.") || !strings.Contains(body, "control removed") || !strings.Contains(body, `action="/findings/accept"`) {
		t.Error("the reopened finding's page does not show the change")
	}
	if f, _ := e.st.Finding(e.ctx, "f-web-ssh"); f.Status != "open" {
		t.Errorf("status %s", f.Status)
	}
	// Reopening again: the API's 409 is shown.
	if r := ana.post(page+"/status", url.Values{"csrf": {csrf}, "status": {"open"}, "reason": {"again"}}); r.StatusCode != http.StatusConflict {
		t.Errorf("reopen of an open finding: %d", r.StatusCode)
	}

	// Read-only: reads the thread but has no forms; a forged POST is
	// refused by the API.
	rita := e.signedIn(readonlyName, readonlyPassword)
	body = rita.page(page)
	if strings.Contains(body, `action="/findings/f-web-ssh/comments"`) || !strings.Contains(body, "control removed") {
		t.Error("read-only user sees the comment form, or not the thread")
	}
	if r := rita.post(page+"/comments", url.Values{"csrf": {rita.csrf(body)}, "text": {"forged"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("forged comment: %d", r.StatusCode)
	}
	if p, _ := e.st.ListComments(e.ctx, storeFilter("finding_id", "f-web-ssh")); len(p.Items) != 2 {
		t.Errorf("%d comments, want the analyst's comment and the reopen", len(p.Items))
	}
	if r := ana.get("/findings/nope"); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown finding: %d", r.StatusCode)
	}
}

func TestNotificationChannelsPage(t *testing.T) {
	e := newEnv(t, envOptions{})
	var mu sync.Mutex
	var got []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
	}))
	defer hook.Close()

	root := e.signedIn(adminName, adminPassword)
	body := root.page("/settings/notifications")
	csrf := root.csrf(body)
	for _, want := range []string{`for="n-name"`, `for="n-url"`, `for="n-host"`, "DingTalk", "<caption>Notification channels</caption>"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	form := url.Values{"csrf": {csrf}, "name": {"team-hook"}, "kind": {"webhook"}, "minSeverity": {"high"}, "enabled": {"on"},
		"url": {hook.URL + "/vigil?token=HOOKTOKEN"}, "secret": {"HOOKSECRET"}}
	r := root.post("/settings/notifications", form)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", r.StatusCode, r.body)
	}
	mail := url.Values{"csrf": {csrf}, "name": {"mail"}, "kind": {"email"}, "minSeverity": {"critical"},
		"host": {"127.0.0.1"}, "port": {"2525"}, "from": {"vigil@example.com"}, "to": {"a@example.com, b@example.com"}, "username": {"u"}, "password": {" p w "}}
	if r := root.post("/settings/notifications", mail); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create email: %d\n%s", r.StatusCode, r.body)
	}
	body = root.page("/settings/notifications")
	if !strings.Contains(body, "team-hook") || !strings.Contains(body, "127.0.0.1:2525 → a@example.com, b@example.com") ||
		strings.Contains(body, "HOOKTOKEN") || strings.Contains(body, "HOOKSECRET") || strings.Contains(body, " p w ") {
		t.Errorf("list shows %q", body)
	}
	chs, err := e.st.ListChannels(e.ctx, storeFilter("kind", "webhook"))
	if err != nil || len(chs.Items) != 1 {
		t.Fatalf("channels %+v %v", chs, err)
	}
	id := itoa(chs.Items[0].ID)

	for name, f := range map[string]url.Values{
		"bad kind":   {"csrf": {csrf}, "name": {"x"}, "kind": {"pager"}, "minSeverity": {"high"}},
		"bad sev":    {"csrf": {csrf}, "name": {"x"}, "kind": {"slack"}, "minSeverity": {"urgent"}, "url": {"https://x"}},
		"no name":    {"csrf": {csrf}, "kind": {"slack"}, "minSeverity": {"high"}, "url": {"https://x"}},
		"bad config": {"csrf": {csrf}, "name": {"x"}, "kind": {"slack"}, "minSeverity": {"high"}, "url": {"ftp://x"}},
		"bad port":   {"csrf": {csrf}, "name": {"x"}, "kind": {"email"}, "minSeverity": {"high"}, "port": {"x"}},
	} {
		if r := root.post("/settings/notifications", f); r.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d", name, r.StatusCode)
		}
	}

	// Test: the message reaches the loopback webhook.
	r = root.post("/settings/notifications/"+id+"/test", url.Values{"csrf": {csrf}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("test: %d\n%s", r.StatusCode, r.body)
	}
	mu.Lock()
	if len(got) != 1 || !strings.Contains(got[0], `"event":"test"`) {
		t.Errorf("webhook got %q", got)
	}
	mu.Unlock()
	if body := root.page("/settings/notifications"); !strings.Contains(body, "Test message sent.") {
		t.Error("no flash after the test")
	}
	// A failing channel shows the API's reason.
	hook.Close()
	if r := root.post("/settings/notifications/"+id+"/test", url.Values{"csrf": {csrf}}); r.StatusCode != http.StatusBadGateway || !strings.Contains(r.body, "notify webhook") || strings.Contains(r.body, "HOOKTOKEN") {
		t.Errorf("failing test: %d\n%s", r.StatusCode, r.body)
	}

	// Analysts see a note, and their forged POSTs are refused.
	ana := e.signedIn(analystName, analystPassword)
	body = ana.page("/settings/notifications")
	if strings.Contains(body, `action="/settings/notifications"`) || !strings.Contains(body, "Only admins") {
		t.Error("analyst sees the channel forms")
	}
	if r := ana.post("/settings/notifications/"+id+"/delete", url.Values{"csrf": {ana.csrf(body)}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("forged delete: %d", r.StatusCode)
	}

	if r := root.post("/settings/notifications/"+id+"/delete", url.Values{"csrf": {csrf}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d\n%s", r.StatusCode, r.body)
	}
	if body := root.page("/settings/notifications"); strings.Contains(body, "team-hook") || !strings.Contains(body, "Notification channel deleted.") {
		t.Error("channel still listed after delete")
	}
}

// storeFilter is a store list filtered by one key.
func storeFilter(k, v string) store.ListOptions {
	return store.ListOptions{Filter: map[string]string{k: v}}
}
