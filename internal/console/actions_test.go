package console

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

func TestLoginLogout(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()

	// Signed out, pages send to the login page with the way back.
	r := b.get("/assets?kind=host")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?next="+url.QueryEscape("/assets?kind=host") {
		t.Fatalf("signed out: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := b.get("/"); r.Header.Get("Location") != "/login" {
		t.Errorf("/ redirects to %q", r.Header.Get("Location"))
	}
	login := b.page("/login?next=" + url.QueryEscape("/assets?kind=host"))
	for _, want := range []string{`name="next" value="/assets?kind=host"`, `for="l-name"`, `autocomplete="current-password"`} {
		if !strings.Contains(login, want) {
			t.Errorf("login page lacks %s", want)
		}
	}

	// Wrong password: 401 and a message, no cookie.
	r = b.post("/login", url.Values{"name": {adminName}, "password": {"wrong password 1234"}, "next": {"/assets"}})
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, "Invalid name or password") || len(r.Cookies()) != 0 {
		t.Fatalf("bad password: %d, cookies %v", r.StatusCode, r.Cookies())
	}
	if r := b.post("/login", url.Values{"name": {adminName}}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("no password: %d", r.StatusCode)
	}

	// Good password: an HttpOnly, SameSite=Strict session cookie, back to next.
	r = b.post("/login", url.Values{"name": {adminName}, "password": {adminPassword}, "next": {"/assets?kind=host"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/assets?kind=host" {
		t.Fatalf("login: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	var sess *http.Cookie
	for _, c := range r.Cookies() {
		if c.Name == sessionCookie {
			sess = c
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Secure || !strings.HasPrefix(sess.Value, "vgl_ses_") || sess.Path != "/" {
		t.Fatalf("session cookie %+v", sess)
	}
	if sess.Expires.Before(time.Now().Add(11 * time.Hour)) {
		t.Errorf("session cookie expires %v, want the session's 12 hours", sess.Expires)
	}
	// An open redirect in next is refused.
	if r := e.browser().post("/login", url.Values{"name": {adminName}, "password": {adminPassword}, "next": {"//evil.example/"}}); r.Header.Get("Location") != "/" {
		t.Errorf("next //evil.example/ redirects to %q", r.Header.Get("Location"))
	}
	// Signed in, the login page goes on to next.
	if r := b.get("/login?next=/agents"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/agents" {
		t.Errorf("login page when signed in: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	home := b.page("/")
	if !strings.Contains(home, "root (Admin)") {
		t.Error("the page does not name the user")
	}

	// Logout needs the CSRF token.
	if r := b.post("/logout", url.Values{}); r.StatusCode != http.StatusForbidden {
		t.Errorf("logout without CSRF: %d", r.StatusCode)
	}
	r = b.post("/logout", url.Values{"csrf": {b.csrf(home)}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Fatalf("logout: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := b.get("/"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("after logout: %d", r.StatusCode)
	}
	// The API session is revoked, not only the cookie dropped.
	req := httptest.NewRequest(http.MethodGet, "/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+sess.Value)
	res, err := http.DefaultClient.Do(withURL(req, e.srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("the old session token still works: %d", res.StatusCode)
	}
	// A forged or stale cookie is dropped and sent to the login page.
	b2 := e.browser()
	u, _ := url.Parse(e.srv.URL)
	b2.c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: "vgl_ses_forged"}})
	if r := b2.get("/findings"); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Errorf("forged cookie: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
}

func withURL(r *http.Request, base string) *http.Request {
	u, _ := url.Parse(base + r.URL.RequestURI())
	r2, _ := http.NewRequest(r.Method, u.String(), r.Body)
	r2.Header = r.Header
	return r2
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.signedIn(analystName, analystPassword)
	other := e.signedIn(adminName, adminPassword)
	accept := func(csrf string) resp {
		return b.post("/findings/accept", url.Values{"csrf": {csrf}, "id": {"f-host-web-med"}, "reason": {"r"}, "expires": {soon}})
	}
	for name, tok := range map[string]string{
		"none":          "",
		"garbage":       "AAAA",
		"other session": other.csrf(other.page("/findings")),
	} {
		if r := accept(tok); r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "expired or did not come from this console") {
			t.Errorf("CSRF %s: %d", name, r.StatusCode)
		}
	}
	// A cross-site POST is refused even with the right token.
	tok := b.csrf(b.page("/findings"))
	b.header.Set("Sec-Fetch-Site", "cross-site")
	if r := accept(tok); r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: %d", r.StatusCode)
	}
	b.header.Del("Sec-Fetch-Site")
	b.header.Set("Origin", "https://evil.example")
	if r := accept(tok); r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin POST: %d", r.StatusCode)
	}
	b.header.Del("Origin")
	if f, _ := e.st.Finding(e.ctx, "f-host-web-med"); f.Status == store.StatusAccepted {
		t.Fatal("a refused POST accepted the finding")
	}
	// The session's own token works.
	if r := accept(tok); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept with CSRF: %d\n%s", r.StatusCode, r.body)
	}
	if f, _ := e.st.Finding(e.ctx, "f-host-web-med"); f.Status != store.StatusAccepted {
		t.Errorf("status %s after accepting", f.Status)
	}
}

var actionForms = []string{`action="/findings/accept"`, `/rescan"`, `/revoke"`, `action="/enrollment-tokens"`, `action="/settings/users"`, `action="/settings/tokens"`}

func TestRoleLimits(t *testing.T) {
	e := newEnv(t, envOptions{})

	ro := e.signedIn(readonlyName, readonlyPassword)
	for _, p := range pages {
		body := ro.page(p.path)
		for _, f := range actionForms {
			if strings.Contains(body, f) {
				t.Errorf("readonly sees %s on %s", f, p.path)
			}
		}
	}
	for _, p := range []string{"/settings/users", "/settings/audit", "/settings/tokens"} {
		if r := ro.get(p); r.StatusCode != http.StatusForbidden {
			t.Errorf("readonly GET %s: %d, want 403", p, r.StatusCode)
		}
	}
	if r := ro.get("/settings"); r.Header.Get("Location") != "/settings/notifications" {
		t.Errorf("readonly /settings goes to %q", r.Header.Get("Location"))
	}
	// Forged POSTs with the readonly user's own valid CSRF token reach the
	// API, which refuses them.
	tok := ro.csrf(ro.page("/"))
	for path, form := range map[string]url.Values{
		"/findings/accept":            {"id": {"f-host-web-crit"}, "reason": {"forged"}, "expires": {soon}},
		"/agents/agent-web/rescan":    {},
		"/agents/agent-web/revoke":    {},
		"/enrollment-tokens":          {"name": {"forged"}, "ttl": {"24h"}},
		"/settings/users":             {"name": {"mallory"}, "password": {"mallory password 1234"}, "role": {"admin"}},
		"/settings/tokens":            {"name": {"forged"}, "scope": {"read"}, "ttl": {"720h"}},
		"/settings/users/1":           {"op": {"delete"}},
		"/enrollment-tokens/1/revoke": {},
	} {
		form.Set("csrf", tok)
		r := ro.post(path, form)
		if r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "Not allowed") {
			t.Errorf("readonly POST %s: %d, want the API's 403", path, r.StatusCode)
		}
	}
	if f, _ := e.st.Finding(e.ctx, "f-host-web-crit"); f.Status == store.StatusAccepted {
		t.Error("the readonly user's forged accept took effect")
	}
	if len(e.tasks.Rescans()) != 0 {
		t.Error("the readonly user's forged rescan took effect")
	}
	if _, err := e.st.UserByName(e.ctx, "mallory"); err == nil {
		t.Error("the readonly user's forged user creation took effect")
	}

	// An analyst gets accept and rescan, not revoke or enrollment.
	an := e.signedIn(analystName, analystPassword)
	agents := an.page("/agents")
	if !strings.Contains(agents, "/rescan\"") || strings.Contains(agents, "/revoke\"") || strings.Contains(agents, `action="/enrollment-tokens"`) {
		t.Error("analyst's agents page: want rescan only")
	}
	if !strings.Contains(an.page("/findings"), `action="/findings/accept"`) {
		t.Error("analyst cannot accept findings")
	}
	if r := an.post("/agents/agent-web/revoke", url.Values{"csrf": {an.csrf(agents)}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("analyst revoke: %d", r.StatusCode)
	}
	// An admin gets everything.
	ad := e.signedIn(adminName, adminPassword)
	for _, want := range []string{"/rescan\"", "/revoke\"", `action="/enrollment-tokens"`} {
		if !strings.Contains(ad.page("/agents"), want) {
			t.Errorf("admin's agents page lacks %s", want)
		}
	}
}

func TestLanguage(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.signedIn(adminName, adminPassword)
	b.header.Set("Accept-Language", "zh-CN,zh;q=0.9,en;q=0.5")
	zh := b.page("/assets")
	for _, want := range []string{`<html lang="zh-CN">`, "资产", "风险值", `aria-pressed="true" lang="zh-CN"`} {
		if !strings.Contains(zh, want) {
			t.Errorf("Chinese page lacks %q", want)
		}
	}
	// The switcher sets a cookie that wins over Accept-Language.
	r := b.post("/language", url.Values{"lang": {"en"}, "next": {"/assets?kind=host"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/assets?kind=host" {
		t.Fatalf("switch: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	en := b.page("/assets")
	if !strings.Contains(en, `<html lang="en">`) || !strings.Contains(en, "Assets matching the filters") {
		t.Error("the English cookie did not win over Accept-Language")
	}
	// Unknown languages and foreign next targets are ignored.
	if r := b.post("/language", url.Values{"lang": {"xx"}, "next": {"https://evil.example/"}}); r.Header.Get("Location") != "/" || len(r.Cookies()) != 0 {
		t.Errorf("bad switch: to %q, cookies %v", r.Header.Get("Location"), r.Cookies())
	}
	// The login page switches too, without a session.
	anon := e.browser()
	anon.post("/language", url.Values{"lang": {"zh-CN"}, "next": {"/login"}})
	if !strings.Contains(anon.page("/login"), "登录 Vigil") {
		t.Error("the login page is not in Chinese after switching")
	}
}

func TestAcceptFindings(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.signedIn(analystName, analystPassword)
	page := b.page("/vulnerabilities/" + criticalCVE)
	for _, want := range []string{"GHSA-xxxx-yyyy-zzzz", "9.8", "42.0%", "in CISA KEV", "3.0.15-1~deb12u1", `name="id" value="f-host-web-crit"`} {
		if !strings.Contains(page, want) {
			t.Errorf("vulnerability page lacks %q", want)
		}
	}
	r := b.post("/findings/accept", url.Values{
		"csrf": {b.csrf(page)}, "id": {"f-host-web-crit", "f-host-db-crit"}, "reason": {"compensating WAF rule"},
		"expires": {time.Now().AddDate(0, 1, 0).Format(time.DateOnly)}, "next": {"/vulnerabilities/" + criticalCVE},
	})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/vulnerabilities/"+criticalCVE {
		t.Fatalf("accept: %d to %q\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	after := b.page("/vulnerabilities/" + criticalCVE)
	if !strings.Contains(after, "2 findings accepted.") || !strings.Contains(after, "compensating WAF rule") {
		t.Error("no confirmation or acceptance shown")
	}
	if strings.Contains(b.page("/findings"), "findings accepted.") {
		t.Error("the confirmation shows twice")
	}
	for _, id := range []string{"f-host-web-crit", "f-host-db-crit"} {
		f, err := e.st.Finding(e.ctx, id)
		if err != nil || f.Status != store.StatusAccepted || f.AcceptReason != "compensating WAF rule" || f.AcceptedBy != "user:"+analystName {
			t.Errorf("finding %s: %+v %v", id, f, err)
		}
	}
	// Invalid forms are refused by the console with a message.
	for name, form := range map[string]url.Values{
		"nothing selected": {"reason": {"r"}, "expires": {soon}},
		"no reason":        {"id": {"f-web-ssh"}, "expires": {soon}},
		"past date":        {"id": {"f-web-ssh"}, "reason": {"r"}, "expires": {"2020-01-01"}},
	} {
		form.Set("csrf", b.csrf(after))
		if r := b.post("/findings/accept", form); r.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d", name, r.StatusCode)
		}
	}
}

func TestAgentsAndEnrollment(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.signedIn(adminName, adminPassword)
	page := b.page("/agents")
	tok := b.csrf(page)
	for _, want := range []string{"42.5", "30.0 MiB", "20.0 MiB", "Silent", "Revoked", "Online"} {
		if !strings.Contains(page, want) {
			t.Errorf("agents page lacks %q", want)
		}
	}
	// Rescan.
	if r := b.post("/agents/agent-web/rescan", url.Values{"csrf": {tok}, "next": {"/agents"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("rescan: %d\n%s", r.StatusCode, r.body)
	}
	if got := e.tasks.Rescans(); len(got) != 1 || got[0] != "agent-web" {
		t.Errorf("rescans %v", got)
	}
	if !strings.Contains(b.page("/agents"), "Rescan requested.") {
		t.Error("no rescan confirmation")
	}
	// Create an enrollment token: the secret and command are shown once.
	r := b.post("/enrollment-tokens", url.Values{"csrf": {tok}, "name": {"prod-web"}, "ttl": {"168h"}, "maxUses": {"5"}, "labels": {"env=prod\nteam=shop"}})
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("create token: %d\n%s", r.StatusCode, r.body)
	}
	secret := regexp.MustCompile(`vgl_enr_[A-Za-z0-9_-]{43}`).FindString(r.body)
	if secret == "" || !strings.Contains(r.body, "vigil-agent --server vigil.example:8443 --token "+secret) {
		t.Fatal("the new token's secret or install command is not shown")
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("the secret page may be cached: %q", r.Header.Get("Cache-Control"))
	}
	list := b.page("/agents")
	if strings.Contains(list, secret) {
		t.Error("the secret is shown again")
	}
	if !strings.Contains(list, `<th scope="row">prod-web</th>`) || !strings.Contains(list, "0 / 5") || !strings.Contains(list, "env=prod, team=shop") {
		t.Error("the new token is not listed with its uses and labels")
	}
	toks, err := e.st.ListEnrollTokens(e.ctx, store.ListOptions{})
	if err != nil || len(toks.Items) != 1 {
		t.Fatalf("enroll tokens %v %v", toks, err)
	}
	id := toks.Items[0].ID
	// Revoke it.
	r = b.post("/enrollment-tokens/"+itoa(id)+"/revoke", url.Values{"csrf": {tok}, "next": {"/agents"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke token: %d\n%s", r.StatusCode, r.body)
	}
	if got, _ := e.st.EnrollToken(e.ctx, id); got.RevokedAt == nil {
		t.Error("token not revoked")
	}
	if list := b.page("/agents"); strings.Contains(list, `<th scope="row">prod-web</th>`) || !strings.Contains(b.page("/agents?tokens=all"), `<th scope="row">prod-web</th>`) {
		t.Error("a revoked token shows among active ones, or not among all")
	}
	// Bad forms.
	for name, form := range map[string]url.Values{
		"no name":   {"ttl": {"24h"}},
		"bad ttl":   {"name": {"x"}, "ttl": {"9999h"}},
		"bad uses":  {"name": {"x"}, "ttl": {"24h"}, "maxUses": {"-1"}},
		"bad label": {"name": {"x"}, "ttl": {"24h"}, "labels": {"nolabel"}},
	} {
		form.Set("csrf", tok)
		if r := b.post("/enrollment-tokens", form); r.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d", name, r.StatusCode)
		}
	}
	// Revoke an agent.
	if r := b.post("/agents/agent-web/revoke", url.Values{"csrf": {tok}, "next": {"/agents"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke agent: %d\n%s", r.StatusCode, r.body)
	}
	if a, _ := e.st.Agent(e.ctx, "agent-web"); a.RevokedAt == nil {
		t.Error("agent not revoked")
	}
	// Revoking twice is the API's conflict, shown as such.
	if r := b.post("/agents/agent-web/revoke", url.Values{"csrf": {tok}, "next": {"/agents"}}); r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "already revoked") {
		t.Errorf("second revoke: %d", r.StatusCode)
	}
}

func TestSettings(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.signedIn(adminName, adminPassword)
	tok := b.csrf(b.page("/settings/users"))
	if r := b.get("/settings"); r.Header.Get("Location") != "/settings/users" {
		t.Errorf("admin /settings goes to %q", r.Header.Get("Location"))
	}
	// Users: create, change role, disable, delete.
	if r := b.post("/settings/users", url.Values{"csrf": {tok}, "name": {"dora"}, "password": {"dora password 1234"}, "role": {"analyst"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create user: %d\n%s", r.StatusCode, r.body)
	}
	dora, err := e.st.UserByName(e.ctx, "dora")
	if err != nil || dora.Role != store.RoleAnalyst {
		t.Fatalf("dora %+v %v", dora, err)
	}
	if r := b.post("/settings/users", url.Values{"csrf": {tok}, "name": {"eve"}, "password": {"short"}, "role": {"analyst"}}); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "password") {
		t.Errorf("short password: %d", r.StatusCode)
	}
	path := "/settings/users/" + itoa(dora.ID)
	b.post(path, url.Values{"csrf": {tok}, "op": {"role"}, "role": {"readonly"}})
	b.post(path, url.Values{"csrf": {tok}, "op": {"disable"}})
	if u, _ := e.st.User(e.ctx, dora.ID); u.Role != store.RoleReadOnly || !u.Disabled {
		t.Errorf("dora after update %+v", u)
	}
	if !strings.Contains(b.page("/settings/users"), "User updated.") {
		t.Error("no confirmation")
	}
	b.post(path, url.Values{"csrf": {tok}, "op": {"delete"}})
	if _, err := e.st.User(e.ctx, dora.ID); err == nil {
		t.Error("dora not deleted")
	}
	// The last admin cannot demote themselves: the API says why.
	root, _ := e.st.UserByName(e.ctx, adminName)
	if r := b.post("/settings/users/"+itoa(root.ID), url.Values{"csrf": {tok}, "op": {"role"}, "role": {"readonly"}}); r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "last active admin") {
		t.Errorf("demote last admin: %d", r.StatusCode)
	}

	// API tokens: the secret is shown once; revoke.
	r := b.post("/settings/tokens", url.Values{"csrf": {tok}, "name": {"ci"}, "scope": {"read", "write"}, "ttl": {"720h"}})
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("create API token: %d\n%s", r.StatusCode, r.body)
	}
	secret := regexp.MustCompile(`vgl_api_[A-Za-z0-9_-]{43}`).FindString(r.body)
	if secret == "" {
		t.Fatal("API token secret not shown")
	}
	list := b.page("/settings/tokens")
	if strings.Contains(list, secret) || !strings.Contains(list, "read, write") {
		t.Error("token list shows the secret again or lacks the new token")
	}
	m := regexp.MustCompile(`action="/settings/tokens/(\d+)/revoke"`).FindStringSubmatch(list)
	if m == nil {
		t.Fatal("no revoke control")
	}
	if r := b.post("/settings/tokens/"+m[1]+"/revoke", url.Values{"csrf": {tok}}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("revoke API token: %d", r.StatusCode)
	}
	// An analyst cannot mint an admin-scoped token.
	an := e.signedIn(analystName, analystPassword)
	at := an.page("/settings/tokens")
	if strings.Contains(at, `value="admin"`) {
		t.Error("analyst is offered the admin scope")
	}
	if r := an.post("/settings/tokens", url.Values{"csrf": {an.csrf(at)}, "name": {"x"}, "scope": {"admin"}, "ttl": {"720h"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("analyst admin token: %d", r.StatusCode)
	}

	// The audit log shows all of it, filterable.
	audit := b.page("/settings/audit?action=user.create")
	if !strings.Contains(audit, "user.create") || strings.Contains(audit, "token.create") {
		t.Error("audit filter by action")
	}
	if !strings.Contains(b.page("/settings/audit"), "token.revoke") {
		t.Error("audit log lacks the token revocation")
	}
}
