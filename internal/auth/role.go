package auth

import (
	"errors"
	"fmt"
	"slices"

	"github.com/vigil-sec/vigil/internal/store"
)

// Rank orders roles: readonly 1, analyst 2, admin 3, anything else 0.
func Rank(r store.Role) int {
	switch r {
	case store.RoleReadOnly:
		return 1
	case store.RoleAnalyst:
		return 2
	case store.RoleAdmin:
		return 3
	}
	return 0
}

// ValidRole reports whether r is one of the roles.
func ValidRole(r store.Role) bool { return Rank(r) > 0 }

// Scope is a permission an API token carries. Scopes are ordered like the
// roles they match: read (readonly), write (analyst), admin (admin); a
// scope grants what the lower ones do.
type Scope string

// The scopes.
const (
	ScopeRead  Scope = "read"
	ScopeWrite Scope = "write"
	ScopeAdmin Scope = "admin"
)

// ErrScope is returned by ParseScopes for an unknown scope.
var ErrScope = errors.New("auth: unknown scope")

// Role returns the role a scope matches ("" for an unknown scope).
func (s Scope) Role() store.Role {
	switch s {
	case ScopeRead:
		return store.RoleReadOnly
	case ScopeWrite:
		return store.RoleAnalyst
	case ScopeAdmin:
		return store.RoleAdmin
	}
	return ""
}

// ScopeFor returns the scope a role needs ("" for an unknown role).
func ScopeFor(r store.Role) Scope {
	switch r {
	case store.RoleReadOnly:
		return ScopeRead
	case store.RoleAnalyst:
		return ScopeWrite
	case store.RoleAdmin:
		return ScopeAdmin
	}
	return ""
}

// RoleScopes returns every scope role r may hold, lowest first: what a
// login session carries.
func RoleScopes(r store.Role) []Scope {
	var out []Scope
	for _, s := range []Scope{ScopeRead, ScopeWrite, ScopeAdmin} {
		if Rank(s.Role()) <= Rank(r) {
			out = append(out, s)
		}
	}
	return out
}

// ParseScopes checks scope names and returns them deduplicated, lowest
// first.
func ParseScopes(names []string) ([]Scope, error) {
	var out []Scope
	for _, n := range names {
		s := Scope(n)
		if s.Role() == "" {
			return nil, fmt.Errorf("%w %q", ErrScope, n)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Scope) int { return Rank(a.Role()) - Rank(b.Role()) })
	return out, nil
}

// ScopeStrings converts scopes to the strings the store keeps.
func ScopeStrings(ss []Scope) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}
