package api

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

var pathParam = regexp.MustCompile(`\{[a-zA-Z]+\}`)

// concrete fills a route's path parameters with an id nothing has, so a
// permitted request changes nothing.
func concrete(path string) string { return pathParam.ReplaceAllString(path, "999999") }

func bodyFor(method string) any {
	if method == http.MethodPost || method == http.MethodPatch || method == http.MethodPut {
		return "{}"
	}
	return nil
}

// below returns the role one rank under r, or "" for readonly.
func below(r store.Role) store.Role {
	switch r {
	case store.RoleAdmin:
		return store.RoleAnalyst
	case store.RoleAnalyst:
		return store.RoleReadOnly
	}
	return ""
}

// TestRouteAccess walks the route table itself, so no route can escape
// it: every non-public route refuses missing, forged, expired, revoked,
// enrollment and disabled-user tokens with 401, a role below its
// requirement and a token scope below it with 403, and lets the right
// role through.
func TestRouteAccess(t *testing.T) {
	e := newEnv(t)
	users := map[store.Role]store.User{
		store.RoleAdmin: e.admin, store.RoleAnalyst: e.analyst, store.RoleReadOnly: e.readonly,
	}
	disabled := e.user("gone", store.RoleAdmin, adminPassword)
	disabled.Disabled = true
	if err := e.st.UpdateUser(e.ctx, disabled); err != nil {
		t.Fatal(err)
	}
	all := []string{"read", "write", "admin"}

	routes := e.srv.Routes()
	if len(routes) < 30 {
		t.Fatalf("only %d routes", len(routes))
	}
	for _, rt := range routes {
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			path, body := concrete(rt.Path), bodyFor(rt.Method)
			if rt.Access == Public {
				w := e.do(rt.Method, path, "", body)
				if w.Code == http.StatusUnauthorized || w.Code == http.StatusForbidden {
					t.Fatalf("public route answered %d without a token", w.Code)
				}
				return
			}
			if rt.Access < Public || rt.Access > Admin {
				t.Fatalf("route has access %v", rt.Access)
			}

			unauth := map[string]string{
				"no token":      "",
				"garbage":       "not-a-token",
				"forged":        auth.NewToken(auth.KindAPI),
				"forged ses":    auth.NewToken(auth.KindSession),
				"expired":       e.mint(e.admin, auth.KindAPI, all, func(tk *store.Token) { tk.ExpiresAt = e.clock.Now().Add(-time.Second) }),
				"expired ses":   e.mint(e.admin, auth.KindSession, all, func(tk *store.Token) { tk.ExpiresAt = e.clock.Now() }),
				"revoked":       e.mint(e.admin, auth.KindAPI, all, func(tk *store.Token) { at := e.clock.Now().Add(-time.Minute); tk.RevokedAt = &at }),
				"disabled user": e.mint(disabled, auth.KindAPI, all),
				"kind mismatch": e.mint(e.admin, auth.KindAPI, all, func(tk *store.Token) { tk.Session = true }),
			}
			// An enrollment token is never a bearer, even with its hash in
			// the token table.
			unauth["enrollment"] = e.mint(e.admin, auth.KindEnroll, all)
			for name, tok := range unauth {
				w := e.do(rt.Method, path, tok, body)
				if w.Code != http.StatusUnauthorized {
					t.Errorf("%s: status %d, want 401; %s", name, w.Code, w.Body.String())
					continue
				}
				if code := errCode(t, w); code != codeUnauthenticated {
					t.Errorf("%s: code %q", name, code)
				}
				if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%s: no WWW-Authenticate challenge", name)
				}
			}

			need := rt.Access.Role()
			if need != "" {
				if low := below(need); low != "" {
					for name, tok := range map[string]string{
						"session of lower role":       e.session(users[low]),
						"all-scope token, lower role": e.mint(users[low], auth.KindAPI, all),
					} {
						w := e.do(rt.Method, path, tok, body)
						if w.Code != http.StatusForbidden || errCode(t, w) != codeForbidden {
							t.Errorf("%s: status %d, want 403 forbidden; %s", name, w.Code, w.Body.String())
						}
					}
				}
				// The right role, but a token whose scopes stop below.
				narrow := []string{}
				if low := below(need); low != "" {
					narrow = []string{string(auth.ScopeFor(low))}
				}
				w := e.do(rt.Method, path, e.mint(users[need], auth.KindAPI, narrow), body)
				if w.Code != http.StatusForbidden || errCode(t, w) != codeScope {
					t.Errorf("narrow scope %v: status %d, want 403 insufficient_scope; %s", narrow, w.Code, w.Body.String())
				}
			}

			// The right role passes, by session and by a token of exactly
			// the needed scope.
			role := need
			if role == "" {
				role = store.RoleReadOnly
			}
			oks := map[string]string{"session": e.session(users[role])}
			if need != "" {
				oks["exact-scope token"] = e.mint(users[role], auth.KindAPI, []string{string(auth.ScopeFor(need))})
				oks["admin session"] = e.session(e.admin)
			}
			for name, tok := range oks {
				w := e.do(rt.Method, path, tok, body)
				if w.Code == http.StatusUnauthorized || w.Code == http.StatusForbidden {
					t.Errorf("%s of role %s: status %d; %s", name, role, w.Code, w.Body.String())
				}
			}
		})
	}
}

func TestUnknownAPIPaths(t *testing.T) {
	e := newEnv(t)
	tok := e.session(e.readonly)
	for _, tc := range []struct {
		method, path string
		token        string
		status       int
		code         string
	}{
		{"GET", "/api/v1/nope", "", 401, codeUnauthenticated},
		{"GET", "/api/v1/nope", auth.NewToken(auth.KindAPI), 401, codeUnauthenticated},
		{"GET", "/api/v1/nope", tok, 404, codeNotFound},
		{"DELETE", "/api/v1/agents", "", 401, codeUnauthenticated},
		{"DELETE", "/api/v1/agents", tok, 405, codeMethod},
		{"PUT", "/api/v1/findings/accept", tok, 405, codeMethod},
		{"GET", "/api/v1/agents/x/y/z", tok, 404, codeNotFound},
		{"GET", "/elsewhere", "", 404, codeNotFound},
	} {
		w := e.do(tc.method, tc.path, tc.token, nil)
		if w.Code != tc.status || errCode(t, w) != tc.code {
			t.Errorf("%s %s: %d %s; want %d %s", tc.method, tc.path, w.Code, w.Body.String(), tc.status, tc.code)
		}
	}
	w := e.do("DELETE", "/api/v1/agents", tok, nil)
	if got := w.Header().Get("Allow"); got != "GET" {
		t.Errorf("Allow = %q", got)
	}
}

func TestNewRefusesBadTables(t *testing.T) {
	e := newEnv(t)
	for name, edit := range map[string]func([]route) []route{
		"no access": func(rs []route) []route { rs[5].Access = accessUnset; return rs },
		"duplicate": func(rs []route) []route { return append(rs, rs[5]) },
		"public API route": func(rs []route) []route {
			rs[5].Access = Public
			return rs
		},
		"no handler": func(rs []route) []route { rs[5].handle = nil; return rs },
		"bad path":   func(rs []route) []route { rs[5].Path = "/v2/x"; return rs },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			newServer(Options{Store: e.st}, func(s *Server) []route { return edit(s.table()) })
		})
	}
}
