package api

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// TestAuditEveryChange makes one change of every kind and checks each is
// in the audit log with its actor, target and address, and that no entry
// holds a password or a token secret.
func TestAuditEveryChange(t *testing.T) {
	e := newEnv(t)
	_, fs := e.seedAgent("a1")
	var secrets []string
	keep := func(s string) string { secrets = append(secrets, s, s[8:]); return s }
	secrets = append(secrets, adminPassword, analystPassword)

	// Logins, failed and successful.
	want(t, e.do("POST", "/api/v1/login", "", loginRequest{Name: "root", Password: "wrong password 99"}), 401, nil)
	secrets = append(secrets, "wrong password 99")
	var login loginResponse
	want(t, e.do("POST", "/api/v1/login", "", loginRequest{Name: "root", Password: adminPassword}), 200, &login)
	admin := keep(login.Token)

	// Users.
	const newPassword = "carol's password 1"
	const changedPassword = "carol's 2nd password"
	secrets = append(secrets, newPassword, changedPassword)
	var carol store.User
	want(t, e.do("POST", "/api/v1/users", admin, userCreate{Name: "carol", Password: newPassword, Role: store.RoleAnalyst}), 201, &carol)
	want(t, e.do("PATCH", userPath(carol.ID), admin, userPatch{Password: ptr(changedPassword), Role: ptr(store.RoleAdmin)}), 200, nil)

	// API tokens.
	var tc tokenCreated
	want(t, e.do("POST", "/api/v1/tokens", admin, tokenCreate{Name: "ci", Scopes: []string{"read"}}), 201, &tc)
	keep(tc.Token)
	want(t, e.do("DELETE", "/api/v1/tokens/"+strconv.FormatInt(tc.APIToken.ID, 10), admin, nil), 204, nil)

	// Enrollment tokens.
	var ec enrollCreated
	want(t, e.do("POST", "/api/v1/enrollment-tokens", admin, enrollCreate{Name: "hosts"}), 201, &ec)
	keep(ec.Token)
	want(t, e.do("DELETE", "/api/v1/enrollment-tokens/"+strconv.FormatInt(ec.EnrollmentToken.ID, 10), admin, nil), 204, nil)

	// Findings and agents.
	want(t, e.do("POST", "/api/v1/findings/accept", admin, acceptRequest{
		IDs: []string{fs[0].ID}, Reason: "vendor fix pending", Expires: e.clock.Now().Add(time.Hour)}), 200, nil)
	want(t, e.do("POST", "/api/v1/agents/a1/rescan", admin, nil), 202, nil)
	want(t, e.do("POST", "/api/v1/agents/a1/revoke", admin, nil), 200, nil)

	// Delete the user, then log out.
	want(t, e.do("DELETE", userPath(carol.ID), admin, nil), 204, nil)
	want(t, e.do("POST", "/api/v1/logout", admin, nil), 204, nil)

	// Refused changes leave no success entries.
	want(t, e.do("POST", "/api/v1/users", e.session(e.analyst), userCreate{Name: "x"}), 403, nil)

	entries := e.audits()
	targets := map[string]string{
		actLoginFail:     "user:root",
		actLoginOK:       userTarget(e.admin.ID),
		actUserCreate:    userTarget(carol.ID),
		actUserUpdate:    userTarget(carol.ID),
		actUserDelete:    userTarget(carol.ID),
		actTokenCreate:   tokenTarget(tc.APIToken.ID),
		actTokenRevoke:   tokenTarget(tc.APIToken.ID),
		actEnrollCreate:  enrollTarget(ec.EnrollmentToken.ID),
		actEnrollRevoke:  enrollTarget(ec.EnrollmentToken.ID),
		actFindingAccept: "finding:" + fs[0].ID,
		actAgentRescan:   "agent:a1",
		actAgentRevoke:   "agent:a1",
		actLogout:        tokenTarget(loginTokenID(t, e, entries)),
	}
	seen := map[string]int{}
	for _, a := range entries {
		seen[a.Action]++
		if want, ok := targets[a.Action]; ok && a.Target != want {
			t.Errorf("%s: target %q; want %q", a.Action, a.Target, want)
		}
		wantActor := "user:root"
		if a.Action == actLoginFail {
			wantActor = "anonymous"
		}
		if a.Actor != wantActor {
			t.Errorf("%s: actor %q; want %q", a.Action, a.Actor, wantActor)
		}
		if a.Remote != "192.0.2.10" {
			t.Errorf("%s: remote %q", a.Action, a.Remote)
		}
		if !a.Time.Equal(e.clock.Now()) {
			t.Errorf("%s: time %v", a.Action, a.Time)
		}
		raw, _ := json.Marshal(a)
		for _, s := range secrets {
			if strings.Contains(string(raw), s) {
				t.Errorf("%s entry holds a secret: %s", a.Action, raw)
			}
		}
	}
	for action := range targets {
		if seen[action] != 1 {
			t.Errorf("%d %s entries; want 1", seen[action], action)
		}
	}
	if len(entries) != len(targets) {
		t.Errorf("%d entries; want %d", len(entries), len(targets))
	}

	var upd map[string]any
	for _, a := range entries {
		if a.Action == actUserUpdate {
			json.Unmarshal(a.Detail, &upd)
		}
	}
	if upd["passwordChanged"] != true || upd["role"] != "admin" || !strings.HasPrefix(upd["via"].(string), "session:") {
		t.Errorf("user.update detail %v", upd)
	}

	// Admins read the log through the API, filtered.
	var page pageBody[store.AuditEntry]
	want(t, e.do("GET", "/api/v1/audit?action=user.create", e.session(e.admin), nil), 200, &page)
	if len(page.Items) != 1 || page.Items[0].Target != userTarget(carol.ID) {
		t.Errorf("audit?action=user.create: %+v", page.Items)
	}
}

// loginTokenID is the session id of the successful login in the log.
func loginTokenID(t *testing.T, e *env, entries []store.AuditEntry) int64 {
	t.Helper()
	for _, a := range entries {
		if a.Action == actLoginOK {
			var d struct{ Via string }
			json.Unmarshal(a.Detail, &d)
			id, err := strconv.ParseInt(strings.TrimPrefix(d.Via, "session:"), 10, 64)
			if err == nil {
				return id
			}
		}
	}
	t.Fatal("no login in the audit log")
	return 0
}

func TestEnsureAdmin(t *testing.T) {
	e := newEnv(t) // has users already
	if created, err := EnsureAdmin(e.ctx, e.st, "boot", "bootstrap password"); err != nil || created {
		t.Errorf("EnsureAdmin with users = %v, %v", created, err)
	}

	st, err := store.Open(e.ctx, t.TempDir()+"/empty.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := EnsureAdmin(e.ctx, st, "boot", "short"); err == nil {
		t.Error("weak bootstrap password accepted")
	}
	if _, err := EnsureAdmin(e.ctx, st, "bad name", "bootstrap password"); err == nil {
		t.Error("bad bootstrap name accepted")
	}
	created, err := EnsureAdmin(e.ctx, st, "boot", "bootstrap password")
	if err != nil || !created {
		t.Fatalf("EnsureAdmin on an empty store = %v, %v", created, err)
	}
	if created, err := EnsureAdmin(e.ctx, st, "boot", "bootstrap password"); err != nil || created {
		t.Errorf("second EnsureAdmin = %v, %v", created, err)
	}
	u, err := st.UserByName(e.ctx, "boot")
	if err != nil || u.Role != store.RoleAdmin {
		t.Fatalf("bootstrap user %+v, %v", u, err)
	}
	// The bootstrap admin can sign in.
	srv := New(Options{Store: st})
	e2 := &env{t: t, ctx: e.ctx, st: st, srv: srv, clock: e.clock}
	var login loginResponse
	want(t, e2.do("POST", "/api/v1/login", "", loginRequest{Name: "boot", Password: "bootstrap password"}), 200, &login)
	audit, err := st.ListAudit(e.ctx, store.ListOptions{Filter: map[string]string{"action": actUserCreate}})
	if err != nil || len(audit.Items) != 1 || audit.Items[0].Actor != "server" ||
		strings.Contains(string(audit.Items[0].Detail), "bootstrap password") {
		t.Errorf("bootstrap audit %+v, %v", audit.Items, err)
	}
}
