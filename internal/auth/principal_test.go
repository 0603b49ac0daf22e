package auth

import (
	"errors"
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

func TestPrincipal(t *testing.T) {
	const (
		admin    = store.RoleAdmin
		analyst  = store.RoleAnalyst
		readonly = store.RoleReadOnly
	)
	for _, tc := range []struct {
		name    string
		role    store.Role
		session bool
		scopes  []string
		want    store.Role
		check   map[store.Role]error
	}{
		{"admin session", admin, true, nil, admin,
			map[store.Role]error{readonly: nil, analyst: nil, admin: nil}},
		{"readonly session", readonly, true, []string{"admin"}, readonly,
			map[store.Role]error{readonly: nil, analyst: ErrRole, admin: ErrRole}},
		{"admin read token", admin, false, []string{"read"}, readonly,
			map[store.Role]error{readonly: nil, analyst: ErrScopeTooSmall, admin: ErrScopeTooSmall}},
		{"admin write token", admin, false, []string{"write"}, analyst,
			map[store.Role]error{readonly: nil, analyst: nil, admin: ErrScopeTooSmall}},
		{"analyst admin token", analyst, false, []string{"admin", "read"}, readonly,
			map[store.Role]error{readonly: nil, analyst: ErrScopeTooSmall, admin: ErrRole}},
		{"no scopes", admin, false, nil, "",
			map[store.Role]error{readonly: ErrScopeTooSmall, analyst: ErrScopeTooSmall, admin: ErrScopeTooSmall}},
		{"unknown scope", analyst, false, []string{"root", "write"}, analyst,
			map[store.Role]error{readonly: nil, analyst: nil, admin: ErrRole}},
		{"unknown role", "root", true, nil, "",
			map[store.Role]error{readonly: ErrRole, analyst: ErrRole, admin: ErrRole}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPrincipal(store.User{ID: 1, Name: "u", Role: tc.role},
				store.Token{ID: 2, Session: tc.session, Scopes: tc.scopes})
			if p.Role != tc.want {
				t.Errorf("Role = %q; want %q", p.Role, tc.want)
			}
			for req, want := range tc.check {
				if err := p.Check(req); !errors.Is(err, want) || (want == nil) != (err == nil) {
					t.Errorf("Check(%s) = %v; want %v", req, err, want)
				}
				if p.Can(req) != (want == nil) {
					t.Errorf("Can(%s) = %v", req, p.Can(req))
				}
			}
			if p.Check("") == nil {
				t.Error("Check(\"\") allowed")
			}
		})
	}
}

func TestPrincipalScopesAndNames(t *testing.T) {
	p := NewPrincipal(store.User{Name: "alice", Role: store.RoleAnalyst}, store.Token{ID: 7, Session: true})
	if !slices.Equal(p.Scopes, []Scope{ScopeRead, ScopeWrite}) {
		t.Errorf("session scopes = %v", p.Scopes)
	}
	if !p.HasScope(ScopeRead) || !p.HasScope(ScopeWrite) || p.HasScope(ScopeAdmin) || p.HasScope("x") {
		t.Error("HasScope wrong")
	}
	if p.Actor() != "user:alice" || p.Via() != "session:7" {
		t.Errorf("Actor, Via = %q, %q", p.Actor(), p.Via())
	}
	p.Token.Session = false
	if p.Via() != "token:7" {
		t.Errorf("Via = %q", p.Via())
	}
}

func TestParseScopes(t *testing.T) {
	got, err := ParseScopes([]string{"admin", "read", "admin"})
	if err != nil || !slices.Equal(got, []Scope{ScopeRead, ScopeAdmin}) {
		t.Errorf("ParseScopes = %v, %v", got, err)
	}
	if _, err := ParseScopes([]string{"read", "READ"}); !errors.Is(err, ErrScope) {
		t.Errorf("ParseScopes(READ) = %v", err)
	}
	if got := RoleScopes(store.RoleReadOnly); !slices.Equal(got, []Scope{ScopeRead}) {
		t.Errorf("RoleScopes(readonly) = %v", got)
	}
	for _, r := range []store.Role{store.RoleReadOnly, store.RoleAnalyst, store.RoleAdmin} {
		if ScopeFor(r).Role() != r {
			t.Errorf("ScopeFor(%s).Role() = %s", r, ScopeFor(r).Role())
		}
	}
}
