package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/agentpb"
	"github.com/vigil-sec/vigil/internal/inventory"
	"github.com/vigil-sec/vigil/internal/server"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vulndb"
)

const adminPassword = "correct horse battery staple"

// buildDB builds a vulnerability database from the CLI's test advisories
// (real Debian tracker lines and OSV records).
func buildDB(t *testing.T, path string, builtAt time.Time, empty bool) {
	t.Helper()
	dir := "../../cmd/vigil/testdata/advisories"
	var inputs []vulndb.Input
	if !empty {
		var err error
		if inputs, err = vulndb.DetectInputs(dir); err != nil {
			t.Fatal(err)
		}
	}
	tmp := path + ".new"
	if _, err := vulndb.BuildFrom(context.Background(), tmp, inputs, builtAt); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// debianHost is a local-agent collector: a Debian 11 host with an apache2
// older than the fixes in the test advisories.
func debianHost(ctx context.Context, full bool) (agent.Collection, error) {
	p := inventory.Package{ID: "dpkg:apache2", Name: "apache2", Version: "2.4.52-1~deb11u1", Ecosystem: "Debian",
		Source:    &inventory.Source{Name: "apache2", Version: "2.4.52-1~deb11u1"},
		Locations: []inventory.Location{{Path: "/var/lib/dpkg/status"}}, Extractor: "os/dpkg"}
	data, err := json.Marshal(p)
	if err != nil {
		return agent.Collection{}, err
	}
	host := &agentpb.AssetRecord{Id: "host", Kind: "host", Name: "web-1", Os: "debian 11",
		Attrs:    []byte(`{"os":{"id":"debian","versionId":"11","codename":"bullseye"}}`),
		Packages: []*agentpb.Package{{Id: p.ID, Name: p.Name, Version: p.Version, Ecosystem: "Debian", Data: data}},
		Items:    []*agentpb.Item{{Kind: "process", Key: "1@1", Data: []byte(`{"pid":1,"name":"init"}`)}}}
	return agent.Collection{Assets: []agent.CollectedAsset{{Record: host, HasPackages: full, ItemKinds: []string{"process"}}}}, nil
}

type client struct {
	t     *testing.T
	base  string
	token string
}

func (c *client) do(method, path string, body any, out any) int {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

type page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next"`
}

type finding struct {
	ID, RuleID, Status, Package, AssetID string
}

// startServer runs a whole server with the local agent on loopback ports.
func startServer(t *testing.T, dataDir, dbPath string) (*server.Server, *client) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *server.Server, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Config{
			APIAddr: "127.0.0.1:0", AgentAddr: "127.0.0.1:0", DataDir: dataDir, VulnDB: dbPath,
			AdminPassword: adminPassword, Heartbeat: time.Second, WatchInterval: 100 * time.Millisecond,
			LocalAgent: server.LocalAgent{Enabled: true, Collect: debianHost},
			Logger:     slog.New(slog.NewTextHandler(t.Output(), nil)),
			Ready:      func(s *server.Server) { ready <- s },
		})
	}()
	var s *server.Server
	select {
	case s = <-ready:
	case err := <-done:
		t.Fatalf("server.Run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("server did not start")
	}
	var once sync.Once
	t.Cleanup(func() {
		once.Do(cancel)
		if err := <-done; err != nil {
			t.Errorf("server.Run: %v", err)
		}
	})
	c := &client{t: t, base: s.APIURL}
	var login struct{ Token string }
	if code := c.do("POST", "/api/v1/login", map[string]string{"name": "admin", "password": adminPassword}, &login); code != 200 {
		t.Fatalf("login: %d", code)
	}
	c.token = login.Token
	return s, c
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func statuses(c *client) map[string]string {
	var p page[finding]
	c.do("GET", "/api/v1/findings?limit=1000", nil, &p)
	out := map[string]string{}
	for _, f := range p.Items {
		out[f.RuleID] = f.Status
	}
	return out
}

// TestQuickstart is the README's first command in miniature: the server
// on embedded defaults with its local agent; the host's inventory and
// vulnerabilities appear in the API; a new database re-assesses every
// asset.
func TestQuickstart(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "vulndb.sqlite")
	buildDB(t, dbPath, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), false)
	s, c := startServer(t, filepath.Join(dir, "data"), dbPath)

	var assets page[struct{ ID, Kind, Name, OS string }]
	eventually(t, "the host asset", func() bool {
		c.do("GET", "/api/v1/assets?kind=host", nil, &assets)
		return len(assets.Items) == 1
	})
	host := assets.Items[0]
	if host.Name != "web-1" || host.OS != "debian 11" {
		t.Errorf("host asset %+v", host)
	}
	var pkgs page[struct{ Name, Version string }]
	if c.do("GET", "/api/v1/assets/"+host.ID+"/packages", nil, &pkgs); len(pkgs.Items) != 1 || pkgs.Items[0].Name != "apache2" {
		t.Errorf("packages %+v", pkgs.Items)
	}
	var items page[struct{ Kind, Key string }]
	if c.do("GET", "/api/v1/assets/"+host.ID+"/items?kind=process", nil, &items); len(items.Items) != 1 {
		t.Errorf("process items %+v", items.Items)
	}
	// apache2 2.4.52-1~deb11u1 predates DSA-5376-1's fix for bullseye
	// (2.4.56-1~deb11u1), which names CVE-2023-25690.
	eventually(t, "vulnerabilities", func() bool { return statuses(c)["CVE-2023-25690"] == "new" })
	var vulns page[struct {
		ID     string
		Assets int
	}]
	c.do("GET", "/api/v1/vulnerabilities?limit=100", nil, &vulns)
	found := false
	for _, v := range vulns.Items {
		found = found || (v.ID == "CVE-2023-25690" && v.Assets == 1)
	}
	if !found {
		t.Errorf("vulnerabilities %+v lack CVE-2023-25690 on one asset", vulns.Items)
	}

	// The overview counts it, the host and the connected agent.
	if err := s.Store.RecordTrend(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	var ov struct {
		Findings map[string]map[string]int
		Assets   map[string]int
		Agents   struct{ Total, Online int }
		Trend    []struct {
			Day                    string
			Critical, High, Medium int
		}
	}
	if code := c.do("GET", "/api/v1/overview", nil, &ov); code != 200 {
		t.Fatalf("overview: %d", code)
	}
	open := 0
	for _, n := range ov.Findings["vulnerability"] {
		open += n
	}
	if open == 0 || ov.Assets["host"] != 1 || ov.Agents.Total != 1 || ov.Agents.Online != 1 || len(ov.Trend) != 1 {
		t.Errorf("overview %+v", ov)
	}

	// A database without the advisory: re-assessment marks it fixed.
	buildDB(t, dbPath, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), true)
	if changed, err := s.Assessor.Reload(context.Background()); err != nil || !changed {
		t.Fatalf("Reload = %v, %v; want a re-assessment", changed, err)
	}
	eventually(t, "fixed after the database update", func() bool { return statuses(c)["CVE-2023-25690"] == "fixed" })
	// And back: reopened.
	buildDB(t, dbPath, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), false)
	if _, err := s.Assessor.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "reopened", func() bool { return statuses(c)["CVE-2023-25690"] == "reopened" })

	// The local agent is listed, connected and reporting.
	var agents page[struct {
		ID, Hostname string
		LastSeq      uint64
	}]
	c.do("GET", "/api/v1/agents", nil, &agents)
	if len(agents.Items) != 1 || agents.Items[0].LastSeq == 0 {
		t.Errorf("agents %+v", agents.Items)
	}
	// Metrics are served.
	resp, err := http.Get(s.APIURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{"vigil_server_agents_connected 1", "vigil_server_agent_messages_total", "vigil_store_wal_pages", "vigil_store_checkpoint_failures_total 0"} {
		if !strings.Contains(string(b), m) {
			t.Errorf("/metrics lacks %q", m)
		}
	}
}

// TestRestartKeepsIdentity: a second start reuses the store, the CA and
// the local agent's identity; nothing is enrolled twice.
func TestRestartKeepsIdentity(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	dbPath := filepath.Join(dir, "vulndb.sqlite")
	func() {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ready := make(chan *server.Server, 1)
		done := make(chan error, 1)
		go func() {
			done <- server.Run(ctx, server.Config{APIAddr: "127.0.0.1:0", AgentAddr: "127.0.0.1:0", DataDir: data, VulnDB: dbPath,
				LocalAgent: server.LocalAgent{Enabled: true, Collect: debianHost}, Ready: func(s *server.Server) { ready <- s }})
		}()
		s := <-ready
		if s.AdminPasswordFile == "" {
			t.Error("no generated admin password file on first start")
		}
		eventually(t, "the local agent", func() bool {
			n, err := s.Store.ListAgents(context.Background(), storeOpts())
			return err == nil && len(n.Items) == 1 && n.Items[0].LastSeq > 0
		})
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}()
	pw, err := os.ReadFile(filepath.Join(data, "admin-password"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan *server.Server, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Config{APIAddr: "127.0.0.1:0", AgentAddr: "127.0.0.1:0", DataDir: data, VulnDB: dbPath,
			LocalAgent: server.LocalAgent{Enabled: true, Collect: debianHost}, Ready: func(s *server.Server) { ready <- s }})
	}()
	s := <-ready
	c := &client{t: t, base: s.APIURL}
	var login struct{ Token string }
	if code := c.do("POST", "/api/v1/login", map[string]string{"name": "admin", "password": strings.TrimSpace(string(pw))}, &login); code != 200 {
		t.Fatalf("login with the generated password: %d", code)
	}
	time.Sleep(500 * time.Millisecond)
	n, err := s.Store.ListAgents(context.Background(), storeOpts())
	if err != nil || len(n.Items) != 1 {
		t.Fatalf("agents after restart: %d, %v; want the same one", len(n.Items), err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func storeOpts() store.ListOptions { return store.ListOptions{} }
