package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Passwords of the seeded users.
const (
	adminPassword    = "admin password 1234"
	analystPassword  = "analyst password 1234"
	readonlyPassword = "readonly password 1234"
)

// clock is a settable clock shared by the server and the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// tasks records the commands sent to agents.
type tasks struct {
	mu      sync.Mutex
	rescans []string
	revokes []string
}

func (t *tasks) Rescan(_ context.Context, id string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rescans = append(t.rescans, id)
	return nil
}

func (t *tasks) Revoke(_ context.Context, id string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.revokes = append(t.revokes, id)
	return nil
}

// env is a server on a real SQLite store with three users.
type env struct {
	t                        testing.TB
	ctx                      context.Context
	st                       *store.DB
	srv                      *Server
	clock                    *clock
	tasks                    *tasks
	admin, analyst, readonly store.User
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{
		t:     t,
		ctx:   ctx,
		st:    st,
		clock: &clock{t: time.Now().UTC().Truncate(time.Second)},
		tasks: &tasks{},
	}
	e.srv = New(Options{
		Store:          st,
		Now:            e.clock.Now,
		Tasks:          e.tasks,
		Version:        "test",
		PasswordParams: &auth.TestParams,
		AgentInstall: func(tok string) string {
			return "curl -fsSL https://vigil.example/install.sh | sh -s -- --token " + tok
		},
	})
	e.admin = e.user("root", store.RoleAdmin, adminPassword)
	e.analyst = e.user("ana", store.RoleAnalyst, analystPassword)
	e.readonly = e.user("rita", store.RoleReadOnly, readonlyPassword)
	return e
}

// user creates a user directly in the store.
func (e *env) user(name string, role store.Role, password string) store.User {
	e.t.Helper()
	h, err := auth.NewHasher(&auth.HasherOptions{Params: &auth.TestParams}).Hash(e.ctx, password)
	if err != nil {
		e.t.Fatal(err)
	}
	u, err := e.st.CreateUser(e.ctx, store.User{Name: name, Role: role, PasswordHash: h, CreatedAt: e.clock.Now()})
	if err != nil {
		e.t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

// mint creates a token for u directly in the store; edit adjusts it
// before it is stored.
func (e *env) mint(u store.User, kind auth.Kind, scopes []string, edit ...func(*store.Token)) string {
	e.t.Helper()
	secret := auth.NewToken(kind)
	tok := store.Token{
		UserID:    u.ID,
		Name:      "test",
		Session:   kind == auth.KindSession,
		Hash:      auth.Hash(secret),
		Scopes:    scopes,
		ExpiresAt: e.clock.Now().Add(time.Hour),
		CreatedAt: e.clock.Now(),
	}
	for _, f := range edit {
		f(&tok)
	}
	created, err := e.st.CreateToken(e.ctx, tok)
	if err != nil {
		e.t.Fatalf("create token: %v", err)
	}
	if tok.RevokedAt != nil { // CreateToken makes live tokens only
		if err := e.st.RevokeToken(e.ctx, created.ID, *tok.RevokedAt); err != nil {
			e.t.Fatal(err)
		}
	}
	return secret
}

// session mints a login session for u.
func (e *env) session(u store.User) string {
	return e.mint(u, auth.KindSession, auth.ScopeStrings(auth.RoleScopes(u.Role)))
}

// do sends a request; body is JSON-encoded unless it is a string or nil.
func (e *env) do(method, path, token string, body any) *httptest.ResponseRecorder {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	req.RemoteAddr = "192.0.2.10:40000"
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, req)
	return w
}

// want checks a response's status and decodes its body into out (when
// not nil).
func want(t testing.TB, w *httptest.ResponseRecorder, status int, out any) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d; body %s", w.Code, status, w.Body.String())
	}
	if out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			t.Fatalf("decode %s: %v", w.Body.String(), err)
		}
	}
}

// errCode returns the code of an error response.
func errCode(t testing.TB, w *httptest.ResponseRecorder) string {
	t.Helper()
	var b errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || b.Error.Code == "" {
		t.Fatalf("not an error body (%v): %s", err, w.Body.String())
	}
	return b.Error.Code
}

// audits returns the audit log, oldest first.
func (e *env) audits() []store.AuditEntry {
	e.t.Helper()
	all, err := listAll(func(o store.ListOptions) (store.Page[store.AuditEntry], error) {
		return e.st.ListAudit(e.ctx, o)
	}, store.ListOptions{}, 1<<20)
	if err != nil {
		e.t.Fatal(err)
	}
	return all
}

// seedAgent creates an agent whose host asset has packages, items, two
// vulnerability findings and an event.
func (e *env) seedAgent(id string) (store.Agent, []store.Finding) {
	e.t.Helper()
	now := e.clock.Now()
	a, err := e.st.CreateAgent(e.ctx, store.Agent{
		ID: id, Hostname: id + ".example", Version: "1.0", AssetID: "host-" + id,
		EnrolledAt: now, LastSeen: now, Heartbeat: time.Minute, CertSerial: "serial-" + id,
		CertNotAfter: now.Add(24 * time.Hour),
	})
	if err != nil {
		e.t.Fatalf("create agent: %v", err)
	}
	asset := "host-" + id
	if _, err := e.st.Ingest(e.ctx, id, 1, func(in store.Ingester) error {
		if err := in.UpsertAsset(e.ctx, store.Asset{ID: asset, Kind: store.AssetHost, Name: id, AgentID: id,
			OS: "debian 12", FirstSeen: now, LastSeen: now}); err != nil {
			return err
		}
		if err := in.ReplacePackages(e.ctx, asset, []store.Package{
			{AssetID: asset, ID: "p1", Name: "openssl", Version: "3.0.1", Ecosystem: "Debian:12"},
			{AssetID: asset, ID: "p2", Name: "zlib", Version: "1.2.13", Ecosystem: "Debian:12"},
		}); err != nil {
			return err
		}
		if err := in.ReplaceItems(e.ctx, asset, []string{"process"}, []store.Item{
			{AssetID: asset, Kind: "process", Key: "1", Data: json.RawMessage(`{"cmd":"/sbin/init"}`)},
		}); err != nil {
			return err
		}
		return in.AddEvents(e.ctx, []store.Event{{AgentID: id, AssetID: asset, Seq: 1, Time: now, Kind: "process.exec"}})
	}); err != nil {
		e.t.Fatalf("ingest: %v", err)
	}
	fs := []store.Finding{
		{ID: "f-" + id + "-1", PackageID: "p1", RuleID: "CVE-2026-0001", Severity: "high", Risk: 7.5,
			Title: "openssl bug", Package: "openssl", PackageVersion: "3.0.1"},
		{ID: "f-" + id + "-2", PackageID: "p2", RuleID: "CVE-2026-0002", Severity: "low", Risk: 2,
			Title: "zlib bug", Package: "zlib", PackageVersion: "1.2.13"},
	}
	if _, err := e.st.SyncFindings(e.ctx, asset, "vulnerability", fs, now); err != nil {
		e.t.Fatalf("sync findings: %v", err)
	}
	return a, fs
}
