package api

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

func TestAcceptFindings(t *testing.T) {
	e := newEnv(t)
	_, fs := e.seedAgent("a1")
	ana := e.session(e.analyst)
	future := e.clock.Now().Add(30 * 24 * time.Hour)

	for name, body := range map[string]any{
		"no reason":     acceptRequest{IDs: []string{fs[0].ID}, Expires: future},
		"no expiry":     acceptRequest{IDs: []string{fs[0].ID}, Reason: "compensating control"},
		"past expiry":   acceptRequest{IDs: []string{fs[0].ID}, Reason: "r", Expires: e.clock.Now().Add(-time.Second)},
		"now expiry":    acceptRequest{IDs: []string{fs[0].ID}, Reason: "r", Expires: e.clock.Now()},
		"no ids":        acceptRequest{Reason: "r", Expires: future},
		"empty id":      acceptRequest{IDs: []string{""}, Reason: "r", Expires: future},
		"too many ids":  acceptRequest{IDs: make([]string, maxAcceptIDs+1), Reason: "r", Expires: future},
		"long reason":   acceptRequest{IDs: []string{fs[0].ID}, Reason: strings.Repeat("r", maxAcceptReason+1), Expires: future},
		"unknown field": fmt.Sprintf(`{"ids":["%s"],"reason":"r","expires":"%s","force":true}`, fs[0].ID, future.Format(time.RFC3339)),
		"bad time":      fmt.Sprintf(`{"ids":["%s"],"reason":"r","expires":"next week"}`, fs[0].ID),
		"null":          `null`,
		"array":         `[]`,
		"two values":    `{} {}`,
	} {
		w := e.do("POST", "/api/v1/findings/accept", ana, body)
		if w.Code != 400 {
			t.Errorf("%s: %d %s", name, w.Code, w.Body.String())
		}
	}
	// Nothing changed.
	f, err := e.st.Finding(e.ctx, fs[0].ID)
	if err != nil || f.Status != store.StatusNew {
		t.Fatalf("finding after refused accepts: %+v, %v", f, err)
	}

	var got acceptResponse
	want(t, e.do("POST", "/api/v1/findings/accept", ana, acceptRequest{
		IDs: []string{fs[0].ID, "no-such-finding"}, Reason: "compensating control", Expires: future,
	}), 200, &got)
	if got.Accepted != 1 {
		t.Errorf("accepted %d; want 1", got.Accepted)
	}
	want(t, e.do("GET", "/api/v1/findings/"+fs[0].ID, ana, nil), 200, &f)
	if f.Status != store.StatusAccepted || f.AcceptReason != "compensating control" || f.AcceptedBy != "user:ana" ||
		f.AcceptExpires == nil || !f.AcceptExpires.Equal(future) {
		t.Errorf("accepted finding %+v", f)
	}
	var other store.Finding
	want(t, e.do("GET", "/api/v1/findings/"+fs[1].ID, ana, nil), 200, &other)
	if other.Status != store.StatusNew {
		t.Errorf("untouched finding is %s", other.Status)
	}
	// Readonly users cannot accept.
	want(t, e.do("POST", "/api/v1/findings/accept", e.session(e.readonly), acceptRequest{
		IDs: []string{fs[1].ID}, Reason: "r", Expires: future}), 403, nil)

	var page pageBody[store.Finding]
	want(t, e.do("GET", "/api/v1/findings?status=accepted", ana, nil), 200, &page)
	if len(page.Items) != 1 || page.Items[0].ID != fs[0].ID {
		t.Errorf("accepted findings: %+v", page.Items)
	}
}

func TestReadEndpoints(t *testing.T) {
	e := newEnv(t)
	agent, fs := e.seedAgent("a1")
	tok := e.session(e.readonly)
	asset := agent.AssetID

	var a store.Agent
	want(t, e.do("GET", "/api/v1/agents/a1", tok, nil), 200, &a)
	if a.Hostname != "a1.example" {
		t.Errorf("agent %+v", a)
	}
	want(t, e.do("GET", "/api/v1/agents/nope", tok, nil), 404, nil)

	var assets pageBody[store.Asset]
	want(t, e.do("GET", "/api/v1/assets?kind=host", tok, nil), 200, &assets)
	if len(assets.Items) != 1 || assets.Items[0].ID != asset {
		t.Errorf("assets %+v", assets.Items)
	}
	want(t, e.do("GET", "/api/v1/assets/"+asset, tok, nil), 200, nil)
	want(t, e.do("GET", "/api/v1/assets/nope", tok, nil), 404, nil)

	var pkgs pageBody[store.Package]
	want(t, e.do("GET", "/api/v1/assets/"+asset+"/packages", tok, nil), 200, &pkgs)
	if len(pkgs.Items) != 2 {
		t.Errorf("asset packages: %d", len(pkgs.Items))
	}
	want(t, e.do("GET", "/api/v1/assets/"+asset+"/packages?asset_id=other", tok, nil), 400, nil)
	want(t, e.do("GET", "/api/v1/assets/nope/packages", tok, nil), 404, nil)
	want(t, e.do("GET", "/api/v1/packages?name=zlib", tok, nil), 200, &pkgs)
	if len(pkgs.Items) != 1 || pkgs.Items[0].Version != "1.2.13" {
		t.Errorf("packages named zlib: %+v", pkgs.Items)
	}

	var items pageBody[store.Item]
	want(t, e.do("GET", "/api/v1/assets/"+asset+"/items?kind=process", tok, nil), 200, &items)
	if len(items.Items) != 1 || items.Items[0].Key != "1" {
		t.Errorf("items %+v", items.Items)
	}
	want(t, e.do("GET", "/api/v1/assets/"+asset+"/items", tok, nil), 400, nil)

	var vulns pageBody[store.Vulnerability]
	want(t, e.do("GET", "/api/v1/vulnerabilities", tok, nil), 200, &vulns)
	if len(vulns.Items) != 2 || vulns.Items[0].ID != "CVE-2026-0001" { // highest risk first
		t.Errorf("vulnerabilities %+v", vulns.Items)
	}
	var vf pageBody[store.Finding]
	want(t, e.do("GET", "/api/v1/vulnerabilities/CVE-2026-0002", tok, nil), 200, &vf)
	if len(vf.Items) != 1 || vf.Items[0].ID != fs[1].ID {
		t.Errorf("findings of CVE-2026-0002: %+v", vf.Items)
	}
	want(t, e.do("GET", "/api/v1/vulnerabilities/CVE-2026-0002?status=fixed", tok, nil), 200, &vf)
	if len(vf.Items) != 0 {
		t.Errorf("fixed findings of CVE-2026-0002: %+v", vf.Items)
	}
	want(t, e.do("GET", "/api/v1/vulnerabilities/CVE-1999-0001", tok, nil), 404, nil)
	want(t, e.do("GET", "/api/v1/vulnerabilities/CVE-2026-0002?rule_id=x", tok, nil), 400, nil)

	var findings pageBody[store.Finding]
	want(t, e.do("GET", "/api/v1/findings?severity=high", tok, nil), 200, &findings)
	if len(findings.Items) != 1 || findings.Items[0].ID != fs[0].ID {
		t.Errorf("high findings %+v", findings.Items)
	}
	want(t, e.do("GET", "/api/v1/findings/nope", tok, nil), 404, nil)

	var events pageBody[store.Event]
	want(t, e.do("GET", "/api/v1/events?agent_id=a1", tok, nil), 200, &events)
	if len(events.Items) != 1 || events.Items[0].Kind != "process.exec" {
		t.Errorf("events %+v", events.Items)
	}
}

func TestAgentCommands(t *testing.T) {
	e := newEnv(t)
	e.seedAgent("a1")
	ana, admin := e.session(e.analyst), e.session(e.admin)

	var q queued
	want(t, e.do("POST", "/api/v1/agents/a1/rescan", ana, nil), 202, &q)
	if q.Status != "queued" || len(e.tasks.rescans) != 1 || e.tasks.rescans[0] != "a1" {
		t.Errorf("rescan: %+v, tasks %v", q, e.tasks.rescans)
	}
	want(t, e.do("POST", "/api/v1/agents/nope/rescan", ana, nil), 404, nil)
	want(t, e.do("POST", "/api/v1/agents/a1/revoke", ana, nil), 403, nil)

	var a store.Agent
	want(t, e.do("POST", "/api/v1/agents/a1/revoke", admin, nil), 200, &a)
	if a.RevokedAt == nil || len(e.tasks.revokes) != 1 {
		t.Errorf("revoke: %+v, tasks %v", a, e.tasks.revokes)
	}
	if revoked, err := e.st.SerialRevoked(e.ctx, "serial-a1"); err != nil || !revoked {
		t.Errorf("certificate serial revoked = %v, %v", revoked, err)
	}
	want(t, e.do("POST", "/api/v1/agents/a1/revoke", admin, nil), 409, nil)
	want(t, e.do("POST", "/api/v1/agents/a1/rescan", ana, nil), 409, nil)

	// Without a task channel a rescan is unavailable.
	e.seedAgent("a2")
	e.srv.o.Tasks = nil
	want(t, e.do("POST", "/api/v1/agents/a2/rescan", ana, nil), 503, nil)
}

func TestPagination(t *testing.T) {
	e := newEnv(t)
	admin := e.session(e.admin)
	for i := range 7 {
		e.user(fmt.Sprintf("user%02d", i), store.RoleReadOnly, "some password 1")
	}
	// 10 users in all; pages of 3 following the Link header.
	var names []string
	next := "/api/v1/users?limit=3&order=desc"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		w := e.do("GET", next, admin, nil)
		var page pageBody[store.User]
		want(t, w, 200, &page)
		for _, u := range page.Items {
			names = append(names, u.Name)
		}
		link := w.Header().Get("Link")
		if (link == "") != (page.Next == "") {
			t.Fatalf("Link %q with next %q", link, page.Next)
		}
		next = ""
		if link != "" {
			if !strings.HasPrefix(link, "</api/v1/users?") || !strings.HasSuffix(link, `>; rel="next"`) ||
				!strings.Contains(link, "limit=3") || !strings.Contains(link, "order=desc") {
				t.Fatalf("Link %q", link)
			}
			next = strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
		}
	}
	wantNames := "user06,user05,user04,user03,user02,user01,user00,root,rita,ana"
	if got := strings.Join(names, ","); got != wantNames {
		t.Errorf("names across pages:\n got %s\nwant %s", got, wantNames)
	}

	for name, q := range map[string]string{
		"limit 0":        "limit=0",
		"limit too big":  "limit=1001",
		"limit not int":  "limit=ten",
		"bad order":      "order=up",
		"unknown filter": "colour=blue",
		"unknown sort":   "sort=colour",
		"repeated":       "role=admin&role=analyst",
		"bad cursor":     "cursor=garbage",
		"bad escape":     "name=%zz",
	} {
		w := e.do("GET", "/api/v1/users?"+q, admin, nil)
		if w.Code != 400 || errCode(t, w) != codeInvalid {
			t.Errorf("%s: %d %s", name, w.Code, w.Body.String())
		}
	}
	var page pageBody[store.User]
	want(t, e.do("GET", "/api/v1/users?role=admin", admin, nil), 200, &page)
	if len(page.Items) != 1 || page.Items[0].Name != "root" {
		t.Errorf("admins: %+v", page.Items)
	}
	want(t, e.do("GET", "/api/v1/users?name=nobody", admin, nil), 200, &page)
	if page.Items == nil || len(page.Items) != 0 {
		t.Errorf("an empty page must have items: []")
	}
}
