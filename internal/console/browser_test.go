package console

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/vigil-sec/vigil/internal/store"
)

// tab drives one chromium tab against a test server.
type tab struct {
	t   *testing.T
	ctx context.Context
	e   *env
}

// open navigates to a path and waits for the page.
func (s *tab) open(path string) {
	s.t.Helper()
	resp, err := chromedp.RunResponse(s.ctx, chromedp.Navigate(s.e.srv.URL+path))
	must(s.t, err, "open "+path)
	if resp != nil && resp.Status >= 400 {
		s.t.Fatalf("open %s: status %d", path, resp.Status)
	}
}

// click clicks what sel finds and waits for the page it loads.
func (s *tab) click(sel string) {
	s.t.Helper()
	_, err := chromedp.RunResponse(s.ctx, chromedp.Click(chromedp.CSS(sel)))
	must(s.t, err, "click "+sel)
}

func (s *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	must(s.t, chromedp.Do(s.ctx, steps...), what)
}

func (s *tab) path() string {
	s.t.Helper()
	loc, err := chromedp.Run(s.ctx, chromedp.Location())
	must(s.t, err, "location")
	return strings.TrimPrefix(loc, s.e.srv.URL)
}

func (s *tab) text(sel string) string { s.t.Helper(); return text(s.t, s.ctx, sel) }

func (s *tab) count(sel string) int {
	s.t.Helper()
	return eval[int](s.t, s.ctx, `document.querySelectorAll(`+jsString(sel)+`).length`)
}

func (s *tab) login(name, password string) {
	s.t.Helper()
	s.open("/login")
	s.do("type credentials", chromedp.SendKeys(chromedp.ID("l-name"), name), chromedp.SendKeys(chromedp.ID("l-password"), password))
	// Enter in the password field submits the form.
	_, err := chromedp.RunResponse(s.ctx, chromedp.SendKeys(chromedp.ID("l-password"), kb.Enter))
	must(s.t, err, "submit login")
	if p := s.path(); p != "/" {
		s.t.Fatalf("after login at %s", p)
	}
}

func (s *tab) logout() {
	s.t.Helper()
	s.click(`form[action="/logout"] button`)
	if p := s.path(); p != "/login" {
		s.t.Fatalf("after logout at %s", p)
	}
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// a11yJS lists what a page lacks for assistive technology: controls
// without a label, buttons without a name, tables without headers.
const a11yJS = `(() => {
  const bad = [];
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden' || el.hidden) continue;
    if (el.labels.length === 0 && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby')) bad.push('unlabelled ' + el.outerHTML.slice(0, 80));
  }
  for (const b of document.querySelectorAll('button, a[href]')) {
    if (!(b.textContent.trim() || b.getAttribute('aria-label'))) bad.push('unnamed ' + b.outerHTML.slice(0, 80));
  }
  for (const t of document.querySelectorAll('table')) {
    if (!t.caption || !t.querySelector('th')) bad.push('table without caption or headers');
  }
  if (!document.documentElement.lang) bad.push('no lang');
  if (document.querySelectorAll('h1').length !== 1) bad.push('not one h1');
  return bad;
})()`

func (s *tab) accessible(path string) {
	s.t.Helper()
	for _, b := range eval[[]string](s.t, s.ctx, a11yJS) {
		s.t.Errorf("%s: %s", path, b)
	}
}

// TestBrowser drives the console in Debian's chromium: keyboard access,
// login and logout, role limits, navigation, filtering, an asset page,
// accepting a finding, creating and revoking an enrollment token and
// switching language, with a screenshot of every main page in
// testdata/out (go test -update-docs copies the golden ones to docs).
func TestBrowser(t *testing.T) {
	e := newEnv(t, envOptions{})
	s := &tab{t: t, ctx: chrome(t), e: e}

	t.Run("login page", func(t *testing.T) {
		s.t = t
		s.open("/login")
		shot(t, s.ctx, "login")
		s.accessible("/login")
		// The name field has focus; Tab goes on to the password.
		if id := eval[string](t, s.ctx, `document.activeElement.id`); id != "l-name" {
			t.Errorf("login focus on %q", id)
		}
		s.do("tab", chromedp.KeyEvent(kb.Tab))
		if id := eval[string](t, s.ctx, `document.activeElement.id`); id != "l-password" {
			t.Errorf("Tab from the name goes to %q", id)
		}
	})

	t.Run("readonly sees no actions", func(t *testing.T) {
		s.t = t
		s.login(readonlyName, readonlyPassword)
		for path, sel := range map[string]string{
			"/findings":                       `form[action="/findings/accept"]`,
			"/vulnerabilities/" + criticalCVE: `input[name="id"]`,
			"/agents":                         `form[action$="/rescan"], form[action$="/revoke"], form[action="/enrollment-tokens"]`,
		} {
			s.open(path)
			if n := s.count(sel); n != 0 {
				t.Errorf("readonly sees %d %s on %s", n, sel, path)
			}
		}
		s.open("/settings")
		if p := s.path(); p != "/settings/notifications" {
			t.Errorf("readonly settings at %s", p)
		}
		shot(t, s.ctx, "settings-readonly")
		s.logout()
		// Signed out, pages go to the login page and back after it.
		s.open("/events?severity=critical")
		if p := s.path(); !strings.HasPrefix(p, "/login?next=") {
			t.Errorf("signed out, /events goes to %s", p)
		}
	})

	t.Run("navigation and screenshots", func(t *testing.T) {
		s.t = t
		s.login(adminName, adminPassword)
		shot(t, s.ctx, "overview")
		s.accessible("/")
		for _, nav := range []struct{ label, path, shot string }{
			{"Assets", "/assets", "assets"},
			{"Vulnerabilities", "/vulnerabilities", "vulnerabilities"},
			{"Findings", "/findings", "findings"},
			{"Events", "/events", "events"},
			{"Agents", "/agents", "agents"},
			{"Settings", "/settings/users", "settings-users"},
			{"Overview", "/", ""},
		} {
			s.click(`header nav a[href="` + strings.TrimSuffix(nav.path, "/users") + `"]`)
			if p := s.path(); p != nav.path {
				t.Errorf("%s link goes to %s, want %s", nav.label, p, nav.path)
			}
			if cur := s.text(`header nav a[aria-current="page"]`); cur != nav.label {
				t.Errorf("on %s the current nav item is %q", nav.path, cur)
			}
			s.accessible(nav.path)
			if nav.shot != "" {
				shot(t, s.ctx, nav.shot)
			}
		}
		for _, p := range []struct{ path, shot string }{
			{"/settings/tokens", "settings-tokens"},
			{"/settings/audit", "settings-audit"},
			{"/settings/notifications", "settings-notifications"},
			{"/vulnerabilities/" + criticalCVE, "vulnerability"},
		} {
			s.open(p.path)
			s.accessible(p.path)
			shot(t, s.ctx, p.shot)
		}
	})

	t.Run("keyboard", func(t *testing.T) {
		s.t = t
		s.open("/findings")
		// The first Tab reaches the skip link, visible when focused.
		s.do("tab", chromedp.KeyEvent(kb.Tab))
		if cls := eval[string](t, s.ctx, `document.activeElement.className`); cls != "skip" {
			t.Fatalf("first Tab focuses %q, want the skip link", cls)
		}
		if top := eval[float64](t, s.ctx, `document.activeElement.getBoundingClientRect().top`); top < 0 {
			t.Errorf("the focused skip link is off screen (top %v)", top)
		}
		if o := eval[string](t, s.ctx, `getComputedStyle(document.activeElement).outlineStyle`); o == "none" {
			t.Error("no visible focus outline")
		}
		// Activating it moves focus to the main content; the next Tab
		// reaches the first filter.
		s.do("enter", chromedp.KeyEvent(kb.Enter))
		if id := eval[string](t, s.ctx, `document.activeElement.id`); id != "main" {
			t.Errorf("skip link moved focus to %q", id)
		}
		s.do("tab", chromedp.KeyEvent(kb.Tab))
		if id := eval[string](t, s.ctx, `document.activeElement.id`); id != "f-kind" {
			t.Errorf("Tab after the skip link focuses %q, want the first filter", id)
		}
		// Every interactive element can be reached with Tab.
		if n := eval[int](t, s.ctx, `[...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea')].filter(e => e.tabIndex < 0 && !e.hidden).length`); n != 0 {
			t.Errorf("%d controls are out of the Tab order", n)
		}
	})

	t.Run("filtering", func(t *testing.T) {
		s.t = t
		s.open("/assets")
		s.do("filter", chromedp.SetValue(chromedp.ID("f-kind"), "image"))
		s.click(`form.filters button[type=submit]`)
		if p := s.path(); !strings.Contains(p, "kind=image") {
			t.Errorf("filtered to %s", p)
		}
		if rows := s.count("table tbody th[scope=row]"); rows != 1 || !strings.Contains(s.text("table tbody"), "nginx:1.25") {
			t.Errorf("%d rows for kind=image", rows)
		}
		// Severity boxes on the findings page.
		s.open("/findings")
		s.do("tick critical", chromedp.Click(chromedp.CSS(`input[name=severity][value=critical]`)))
		s.click(`form.filters button[type=submit]`)
		if got := s.count("table tbody th[scope=row]"); got != 3 {
			t.Errorf("%d critical findings, want 3", got)
		}
		// Paging.
		s.open("/assets?limit=25")
		s.click(`a[rel=next]`)
		if p := s.path(); !strings.Contains(p, "cursor=") {
			t.Errorf("next page at %s", p)
		}
		if !strings.Contains(s.text(".pager"), "First page") {
			t.Error("no first-page link on page 2")
		}
		// The environment filter: the seeded hosts have none.
		s.open("/assets")
		s.do("environment", chromedp.SetValue(chromedp.ID("f-env"), "production"))
		s.click(`form.filters button[type=submit]`)
		if p := s.path(); !strings.Contains(p, "environment=production") || s.count("table tbody th[scope=row]") != 0 {
			t.Errorf("environment=production at %s lists %d assets, want none", p, s.count("table tbody th[scope=row]"))
		}
		// The live pages' refresh box is shown by the script, unticked.
		s.open("/events")
		hidden := eval[bool](s.t, s.ctx, `document.getElementById("live-refresh").parentElement.hidden`)
		checked := eval[bool](s.t, s.ctx, `document.getElementById("live-refresh").checked`)
		if hidden || checked {
			t.Errorf("live refresh box hidden %v checked %v, want shown and unticked", hidden, checked)
		}
	})

	t.Run("asset page", func(t *testing.T) {
		s.t = t
		s.open("/assets?name=web-1")
		s.click(`a[href="/assets/` + webAsset + `"]`)
		if h := s.text("h1"); !strings.Contains(h, "web-1.prod") {
			t.Fatalf("asset page heading %q", h)
		}
		shot(t, s.ctx, "asset")
		s.click(`nav.tabs a[href$="tab=port"]`)
		if body := s.text("table tbody"); !strings.Contains(body, "443") || !strings.Contains(body, "nginx") {
			t.Errorf("ports tab: %q", body)
		}
		shot(t, s.ctx, "asset-ports")
		s.click(`nav.tabs a[href$="tab=process"]`)
		if body := s.text("table tbody"); !strings.Contains(body, "/sbin/init") {
			t.Errorf("processes tab: %q", body)
		}
		s.accessible("/assets/" + webAsset + "?tab=process")
		// The script's select-all box ticks every row.
		s.click(`nav.tabs a[href$="tab=findings"]`)
		s.do("select all", chromedp.Click(chromedp.CSS(`input.select-all`)))
		if n, all := s.count(`tbody input[name=id]:checked`), s.count(`tbody input[name=id]`); n != all || n == 0 {
			t.Errorf("select all ticked %d of %d", n, all)
		}
	})

	t.Run("accept a finding", func(t *testing.T) {
		s.t = t
		s.open("/findings?kind=misconfiguration")
		s.do("fill acceptance",
			chromedp.Click(chromedp.ID("sel-f-web-ssh")),
			chromedp.SendKeys(chromedp.ID("a-reason"), "bastion-only access, ticket SEC-42"),
		)
		s.click(`fieldset.accept button[type=submit]`)
		if msg := s.text(".flash-ok"); msg != "1 findings accepted." {
			t.Errorf("confirmation %q", msg)
		}
		if f, _ := e.st.Finding(e.ctx, "f-web-ssh"); f.Status != store.StatusAccepted || f.AcceptReason != "bastion-only access, ticket SEC-42" {
			t.Errorf("finding after accepting: %s %q", f.Status, f.AcceptReason)
		}
		if !strings.Contains(s.text("table tbody"), "Accepted by user:root") {
			t.Error("the acceptance is not shown")
		}
	})

	t.Run("enrollment token", func(t *testing.T) {
		s.t = t
		s.open("/agents")
		s.do("fill token", chromedp.SendKeys(chromedp.ID("e-name"), "prod-web"), chromedp.SetValue(chromedp.ID("e-ttl"), "168h"),
			chromedp.SendKeys(chromedp.ID("e-labels"), "env=prod"))
		s.click(`form[action="/enrollment-tokens"] button[type=submit]`)
		secret := eval[string](t, s.ctx, `document.getElementById('c-token').value`)
		if !strings.HasPrefix(secret, "vgl_enr_") {
			t.Fatalf("token field %q", secret)
		}
		if cmd := eval[string](t, s.ctx, `document.getElementById('c-cmd').value`); !strings.Contains(cmd, "--token "+secret) {
			t.Errorf("install command %q", cmd)
		}
		if n := s.count("button.copy"); n != 2 {
			t.Errorf("%d copy buttons, want 2", n)
		}
		if id := eval[string](t, s.ctx, `document.activeElement.id`); id != "created" {
			t.Errorf("focus on %q, not the new token", id)
		}
		shot(t, s.ctx, "agents-created")
		// Shown once: a reload of the list does not have it.
		s.open("/agents")
		if strings.Contains(eval[string](t, s.ctx, `document.body.innerHTML`), secret) {
			t.Error("the secret is shown again")
		}
		// Revoke, accepting the confirmation dialog.
		s.do("accept dialogs", chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`))
		s.click(`form[data-confirm*="prod-web"] button`)
		if msg := s.text(".flash-ok"); msg != "Enrollment token revoked." {
			t.Errorf("confirmation %q", msg)
		}
		if strings.Contains(s.text("main"), "prod-web\t") || s.count(`form[data-confirm*="prod-web"]`) != 0 {
			t.Error("the revoked token is still listed as active")
		}
		toks, _ := e.st.ListEnrollTokens(e.ctx, store.ListOptions{})
		if len(toks.Items) != 1 || toks.Items[0].RevokedAt == nil {
			t.Errorf("tokens in the store: %+v", toks.Items)
		}
		// Rescan an agent.
		s.click(`form[action="/agents/agent-web/rescan"] button`)
		if msg := s.text(".flash-ok"); msg != "Rescan requested." || len(e.tasks.Rescans()) != 1 {
			t.Errorf("rescan: %q, %v", msg, e.tasks.Rescans())
		}
	})

	t.Run("language", func(t *testing.T) {
		s.t = t
		s.open("/")
		s.click(`button[name=lang][value="zh-CN"]`)
		if lang := eval[string](t, s.ctx, `document.documentElement.lang`); lang != "zh-CN" {
			t.Fatalf("lang %q after switching", lang)
		}
		if h := s.text("h1"); h != "总览" {
			t.Errorf("heading %q", h)
		}
		if p := s.path(); p != "/" {
			t.Errorf("switching went to %s", p)
		}
		shot(t, s.ctx, "overview-zh")
		s.open("/vulnerabilities/" + criticalCVE)
		shot(t, s.ctx, "vulnerability-zh")
		s.accessible("/vulnerabilities (zh)")
		s.click(`button[name=lang][value="en"]`)
		if h := s.text("h1"); !strings.Contains(h, criticalCVE) || eval[string](t, s.ctx, `document.documentElement.lang`) != "en" {
			t.Errorf("back to English: %q", h)
		}
		s.logout()
	})

	if *updateDocs {
		copyGolden(t)
	}
}
