package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// soon is a valid acceptance expiry.
var soon = time.Now().AddDate(0, 1, 0).Format(time.DateOnly)

// pages are the main pages with a string each must show.
var pages = []struct{ path, want string }{
	{"/", "Riskiest assets"},
	{"/assets", "web-1.prod"},
	{"/assets/" + webAsset, "openssl"},
	{"/assets/" + webAsset + "?tab=packages", "zlib1g"},
	{"/assets/" + webAsset + "?tab=process", "/sbin/init"},
	{"/assets/" + webAsset + "?tab=port", "443"},
	{"/assets/" + webAsset + "?tab=user", "/home/deploy"},
	{"/assets/" + webAsset + "?tab=service", "A high performance web server"},
	{"/assets/" + webAsset + "?tab=containers", "nginx:1.25"},
	{"/assets/" + webAsset + "?tab=events", "reverse-shell"},
	{"/vulnerabilities", criticalCVE},
	{"/vulnerabilities/" + criticalCVE, "Heap overflow in the TLS handshake"},
	{"/findings", "SSH permits root login"},
	{"/events", "agent.silent"},
	{"/agents", "web-1.prod"},
	{"/settings/notifications", "New channel"},
	{"/findings/f-web-ssh", "Comments and status changes"},
}

func TestPagesRender(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.signedIn(adminName, adminPassword)
	for _, p := range append(pages, struct{ path, want string }{"/settings/users", "rita"},
		struct{ path, want string }{"/settings/tokens", "Your API tokens"},
		struct{ path, want string }{"/settings/audit", "login.success"}) {
		body := b.page(p.path)
		if !strings.Contains(body, p.want) {
			t.Errorf("%s does not show %q", p.path, p.want)
		}
		if strings.Contains(body, "¿") {
			t.Errorf("%s shows a missing catalog key: %s", p.path, regexp.MustCompile(`¿[^?]*\?`).FindString(body))
		}
	}
}

// The pages that change while watched offer to refresh themselves; the
// others do not.
func TestLiveRefresh(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.signedIn(adminName, adminPassword)
	for path, want := range map[string]bool{"/": true, "/events": true, "/agents": true, "/assets": false, "/findings": false} {
		if got := strings.Contains(b.page(path), `id="live-refresh"`); got != want {
			t.Errorf("%s: live refresh control %v, want %v", path, got, want)
		}
	}
}

// withURL points a test request at the server.
// actionForms are the markers of action controls on pages.
func TestPagination(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.signedIn(adminName, adminPassword)
	nextRE := regexp.MustCompile(`href="([^"]+)" rel="next"`)
	rowRE := regexp.MustCompile(`<th scope="row"><a href="/assets/([^"]+)">`)
	seen := map[string]bool{}
	page := "/assets?limit=25&kind=host"
	pages := 0
	for page != "" {
		body := b.page(page)
		pages++
		for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
			if seen[m[1]] {
				t.Errorf("asset %s on two pages", m[1])
			}
			seen[m[1]] = true
		}
		if pages > 1 && !strings.Contains(body, "First page") {
			t.Errorf("page %d has no link to the first page", pages)
		}
		page = ""
		if m := nextRE.FindStringSubmatch(body); m != nil {
			page = strings.ReplaceAll(m[1], "&amp;", "&")
			if !strings.Contains(page, "kind=host") || !strings.Contains(page, "limit=25") {
				t.Errorf("next link %q loses the filters", page)
			}
		}
		if pages > 5 {
			t.Fatal("too many pages")
		}
	}
	if want := 2 + fleetHosts; len(seen) != want || pages != 2 {
		t.Errorf("%d hosts over %d pages, want %d over 2", len(seen), pages, want)
	}
	// A bad cursor is dropped with a notice rather than failing.
	body := b.page("/assets?cursor=%3Cscript%3E")
	if !strings.Contains(body, "Ignored invalid filter values: cursor") {
		t.Error("bad cursor not reported")
	}
}

func TestFilters(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.signedIn(adminName, adminPassword)
	rows := func(body string) int { return strings.Count(body, `<th scope="row">`) }
	for _, tc := range []struct {
		path   string
		want   []string
		absent []string
		rows   int
	}{
		{"/assets?kind=image", []string{"nginx:1.25"}, []string{"web-1.prod"}, 1},
		{"/assets?name=node-0", []string{"node-01.lab", "node-09.lab"}, []string{"node-10.lab"}, 9},
		{"/assets?cloud=aws&region=us-east-1", []string{"db-1.prod"}, []string{"web-1.prod"}, 1},
		{"/assets?label=team%3Dshop", []string{"web-1.prod"}, []string{"db-1.prod"}, 1},
		{"/assets?min_risk=95", []string{"web-1.prod", "db-1.prod"}, []string{"nginx:1.25"}, 2},
		{"/findings?severity=critical", []string{criticalCVE, "AccessKey"}, []string{"SSH permits"}, 3},
		{"/findings?kind=misconfiguration&severity=high", []string{"SSH permits root login"}, []string{"shadow"}, 1},
		{"/findings?asset_id=" + dbAsset, []string{criticalCVE}, []string{"zlib"}, 2},
		{"/vulnerabilities?severity=low", []string{"CVE-2026-3333"}, []string{criticalCVE}, 1},
		{"/vulnerabilities/" + criticalCVE + "?asset_id=" + dbAsset, []string{dbAsset}, []string{"/assets/" + webAsset + `"`}, 1},
		{"/events?severity=critical", []string{"reverse-shell"}, []string{"agent.silent"}, 1},
		{"/events?kind=agent.silent", []string{"agent.silent"}, []string{"reverse-shell"}, 1},
		{"/agents?status=online", []string{"web-1.prod"}, []string{"db-1.prod", "old-1.lab"}, 1},
		{"/agents?status=silent", []string{"db-1.prod"}, []string{"web-1.prod"}, 1},
		{"/agents?status=revoked", []string{"old-1.lab"}, []string{"web-1.prod"}, 1},
		{"/assets/" + webAsset + "?tab=packages&name=bash", []string{"5.2.15-2&#43;b2"}, []string{"zlib1g"}, 1},
	} {
		body := b.page(tc.path)
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %q", tc.path, w)
			}
		}
		for _, a := range tc.absent {
			if strings.Contains(body, a) {
				t.Errorf("%s shows %q", tc.path, a)
			}
		}
		if got := rows(body); got != tc.rows {
			t.Errorf("%s: %d rows, want %d", tc.path, got, tc.rows)
		}
	}
	// The form shows the filters that are set.
	body := b.page("/findings?severity=critical&status=new")
	for _, want := range []string{`value="critical" checked`, `value="new" checked`} {
		if !strings.Contains(body, want) {
			t.Errorf("filter form lacks %s", want)
		}
	}
	// An invalid value is named and not sent to the API.
	if body := b.page("/findings?severity=catastrophic"); !strings.Contains(body, "Ignored invalid filter values: severity") || rows(body) != 8 {
		t.Errorf("invalid severity: %d rows", rows(body))
	}
	// The lookup box jumps to a vulnerability.
	if r := b.get("/vulnerabilities?lookup=" + criticalCVE); r.Header.Get("Location") != "/vulnerabilities/"+criticalCVE {
		t.Errorf("lookup goes to %q", r.Header.Get("Location"))
	}
	if r := b.get("/vulnerabilities/CVE-0000-0000"); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown vulnerability: %d", r.StatusCode)
	}
	if r := b.get("/assets/no-such-asset"); r.StatusCode != http.StatusNotFound || !strings.Contains(r.body, "Not found") {
		t.Errorf("unknown asset: %d", r.StatusCode)
	}
}

func TestOverview(t *testing.T) {
	t.Run("without the aggregate endpoint", func(t *testing.T) {
		e := newEnv(t, envOptions{noOverview: true})
		body := e.signedIn(readonlyName, readonlyPassword).page("/")
		for _, want := range []string{"not available", "/api/v1/overview", "web-1.prod", criticalCVE, "process.exec"} {
			if !strings.Contains(body, want) {
				t.Errorf("overview lacks %q", want)
			}
		}
		if strings.Contains(body, "<svg") {
			t.Error("charts without data")
		}
	})
	t.Run("with it", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		body := e.signedIn(readonlyName, readonlyPassword).page("/")
		for _, want := range []string{
			`role="img" aria-labelledby="sev-chart-t sev-chart-d"`, `<title id="sev-chart-t">`, `<desc id="trend-chart-d">`,
			"2 critical · 0 high", "32 hosts · 1 containers · 1 images", "1 online · 1 silent · 1 revoked", "11-24",
			`<caption>Open findings by kind and severity (table)</caption>`, "Show the trend as a table",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("overview lacks %q", want)
			}
		}
		if strings.Contains(body, "not available") {
			t.Error("the unavailable note shows with the endpoint")
		}
		if n := strings.Count(body, `class="fill-critical"><title>`); n != 2 {
			t.Errorf("%d critical bar segments, want 2 (vulnerabilities, secrets)", n)
		}
	})
}

// countingAPI counts the requests the console makes of the API.
type countingAPI struct {
	h http.Handler
	n atomic.Int64
}

func (c *countingAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.n.Add(1)
	c.h.ServeHTTP(w, r)
}

// TestBoundedAPICalls: every page makes a fixed, small number of API
// calls, whatever the amount of data (no call per row).
func TestBoundedAPICalls(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.signedIn(adminName, adminPassword)
	// Route the console through a counter: a second console on the same API.
	cnt := &countingAPI{h: e.srv.Config.Handler}
	c := New(Options{API: cnt})
	limits := map[string]int64{"/": 4, "/agents": 3, "/vulnerabilities/" + criticalCVE: 3, "/findings/f-web-ssh": 3}
	for _, p := range append(pages, struct{ path, want string }{"/settings/users", ""}, struct{ path, want string }{"/settings/audit", ""}) {
		req := httptest.NewRequest(http.MethodGet, p.path, nil)
		for _, ck := range b.c.Jar.Cookies(mustURL(e.srv.URL)) {
			req.AddCookie(ck)
		}
		cnt.n.Store(0)
		w := httptest.NewRecorder()
		c.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Errorf("%s: %d", p.path, w.Code)
		}
		max := limits[p.path]
		switch {
		case max > 0:
		case strings.HasPrefix(p.path, "/assets/"):
			max = 3 // /me, the asset and its tab's list
		default:
			max = 2 // /me and the list
		}
		if got := cnt.n.Load(); got != max {
			t.Errorf("%s made %d API calls, want %d", p.path, got, max)
		}
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestSecurityHeadersAndStatic(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.signedIn(adminName, adminPassword)
	r := b.get("/assets")
	for h, want := range map[string]string{
		"Content-Security-Policy": "default-src 'none'; script-src 'self'",
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"Cache-Control":           "no-store",
		"Content-Type":            "text/html; charset=utf-8",
	} {
		if got := r.Header.Get(h); !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	css := regexp.MustCompile(`href="(/static/console\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(r.body)
	if css == nil {
		t.Fatal("no versioned stylesheet link")
	}
	// Static files need no session and are cached by version.
	s := e.browser().get(css[1])
	if s.StatusCode != http.StatusOK || !strings.Contains(s.Header.Get("Cache-Control"), "immutable") || !strings.HasPrefix(s.Header.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: %d %q %q", s.StatusCode, s.Header.Get("Cache-Control"), s.Header.Get("Content-Type"))
	}
	if s := e.browser().get("/static/console.js"); s.StatusCode != http.StatusOK || !strings.Contains(s.Header.Get("Content-Type"), "javascript") {
		t.Errorf("script: %d %q", s.StatusCode, s.Header.Get("Content-Type"))
	}
	// No inline script or style: the CSP would block it.
	for _, p := range pages {
		body := b.page(p.path)
		if regexp.MustCompile(`<script>|<script [^>]*>[^<]|\sstyle="|<style`).MatchString(body) {
			t.Errorf("%s has inline script or style", p.path)
		}
	}
	// Unknown pages are the console's 404; the API keeps its own paths.
	if r := b.get("/no/such/page"); r.StatusCode != http.StatusNotFound || !strings.Contains(r.body, "Not found") {
		t.Errorf("unknown page: %d", r.StatusCode)
	}
	if r := b.get("/healthz"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, `"status":"ok"`) {
		t.Errorf("healthz: %d %s", r.StatusCode, r.body)
	}
}

// TestAccessibleMarkup checks every page's form controls have a label,
// tables have captions and header cells, and there is a skip link.
func TestAccessibleMarkup(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.signedIn(adminName, adminPassword)
	controlRE := regexp.MustCompile(`<(input|select|textarea)\b([^>]*)>`)
	idRE := regexp.MustCompile(`\bid="([^"]+)"`)
	all := append(pages, struct{ path, want string }{"/settings/users", ""}, struct{ path, want string }{"/settings/tokens", ""},
		struct{ path, want string }{"/settings/audit", ""})
	for _, p := range all {
		body := b.page(p.path)
		if !strings.Contains(body, `<a class="skip" href="#main">`) || !strings.Contains(body, `<main id="main"`) {
			t.Errorf("%s: no skip link to main", p.path)
		}
		for _, m := range controlRE.FindAllStringSubmatchIndex(body, -1) {
			attrs := body[m[4]:m[5]]
			if strings.Contains(attrs, `type="hidden"`) || strings.Contains(attrs, "aria-label=") {
				continue
			}
			if id := idRE.FindStringSubmatch(attrs); id != nil && strings.Contains(body, `for="`+id[1]+`"`) {
				continue
			}
			// Or wrapped in its label.
			open := strings.LastIndex(body[:m[0]], "<label")
			if open >= 0 && !strings.Contains(body[open:m[0]], "</label>") {
				continue
			}
			t.Errorf("%s: unlabelled control %s", p.path, body[m[0]:m[1]])
		}
		tables := strings.Count(body, "<table")
		if c := strings.Count(body, "<caption"); c != tables {
			t.Errorf("%s: %d tables, %d captions", p.path, tables, c)
		}
		if tables > 0 && !strings.Contains(body, `<th scope="col"`) {
			t.Errorf("%s: tables without column headers", p.path)
		}
	}
}

// TestServerStackRoutes mounts the console as internal/server will and
// checks the API still answers its paths with JSON.
func TestServerStackRoutes(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	for path, wantJSON := range map[string]bool{"/api/v1/me": true, "/api/v1/nope": true, "/assets": false} {
		r := b.get(path)
		isJSON := strings.HasPrefix(r.Header.Get("Content-Type"), "application/json")
		if isJSON != wantJSON {
			t.Errorf("%s: content type %q", path, r.Header.Get("Content-Type"))
		}
	}
}

func TestStaticHasNoListing(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, p := range []string{"/static/", "/static"} {
		if r := e.browser().get(p); r.StatusCode == http.StatusOK {
			t.Errorf("GET %s: %d, want no listing", p, r.StatusCode)
		}
	}
}

// A cluster asset lists its nodes; the assets page filters clusters and
// environments.
func TestClusterPage(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	now := time.Now()
	if _, err := e.st.Ingest(ctx, "agent-web", 100, func(in store.Ingester) error {
		for _, a := range []store.Asset{
			{ID: "cluster-shop", Kind: store.AssetCluster, Name: "shop-prod", Labels: map[string]string{"cluster": "shop-prod", "environment": "production"}, FirstSeen: now, LastSeen: now},
			{ID: "host-node-1", Kind: store.AssetHost, Name: "node-1.shop", AgentID: "agent-web", ParentID: "cluster-shop", Labels: map[string]string{"cluster": "shop-prod", "environment": "production"}, FirstSeen: now, LastSeen: now},
		} {
			if err := in.UpsertAsset(ctx, a); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b := e.signedIn(adminName, adminPassword)
	if body := b.page("/assets/cluster-shop"); !strings.Contains(body, "node-1.shop") || !strings.Contains(body, "Nodes of shop-prod") {
		t.Error("the cluster page does not list its node")
	}
	list := b.page("/assets?kind=cluster")
	if !strings.Contains(list, "shop-prod") || strings.Contains(list, "web-1.prod") {
		t.Error("kind=cluster does not list exactly the cluster")
	}
	env := b.page("/assets?environment=production")
	if !strings.Contains(env, "node-1.shop") || !strings.Contains(env, "shop-prod") || strings.Contains(env, "web-1.prod") {
		t.Error("environment=production does not list exactly the cluster and its node")
	}
}
