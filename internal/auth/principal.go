package auth

import (
	"errors"
	"slices"
	"strconv"

	"github.com/vigil-sec/vigil/internal/store"
)

// Errors of Principal.Check, for telling a too-low role from a too-narrow
// token.
var (
	ErrRole          = errors.New("auth: role too low")
	ErrScopeTooSmall = errors.New("auth: token scope insufficient")
)

// Principal is who a request acts as: a user through one of their tokens.
type Principal struct {
	User  store.User
	Token store.Token
	// Role is the effective role: the user's role capped by the highest
	// of the token's scopes; "" when the token grants nothing.
	Role store.Role
	// Scopes the token carries, limited to those of the user's role. A
	// session carries every scope of the role.
	Scopes []Scope
}

// NewPrincipal computes the principal of user u presenting token t. A
// session takes the scopes of the user's current role, so a demotion
// applies at once; an API token keeps its own scopes, capped by the role.
func NewPrincipal(u store.User, t store.Token) Principal {
	p := Principal{User: u, Token: t}
	var scopes []Scope
	if t.Session {
		scopes = RoleScopes(u.Role)
	} else {
		for _, n := range t.Scopes { // unknown stored names grant nothing
			if s := Scope(n); s.Role() != "" && !slices.Contains(scopes, s) {
				scopes = append(scopes, s)
			}
		}
		slices.SortFunc(scopes, func(a, b Scope) int { return Rank(a.Role()) - Rank(b.Role()) })
	}
	top := 0
	for _, s := range scopes {
		if r := Rank(s.Role()); r <= Rank(u.Role) {
			p.Scopes = append(p.Scopes, s)
			top = max(top, r)
		}
	}
	for _, r := range []store.Role{store.RoleReadOnly, store.RoleAnalyst, store.RoleAdmin} {
		if Rank(r) == top {
			p.Role = r
		}
	}
	return p
}

// Can reports whether the principal may do what needs the required role.
func (p Principal) Can(required store.Role) bool { return p.Check(required) == nil }

// Check returns nil when the principal may act with the required role,
// ErrRole when the user's role is below it and ErrScopeTooSmall when the
// role would do but the token's scopes do not reach it.
func (p Principal) Check(required store.Role) error {
	need := Rank(required)
	switch {
	case need == 0:
		return ErrRole // an unknown requirement is never met
	case Rank(p.User.Role) < need:
		return ErrRole
	case Rank(p.Role) < need:
		return ErrScopeTooSmall
	}
	return nil
}

// HasScope reports whether the principal holds scope s or a higher one.
func (p Principal) HasScope(s Scope) bool {
	return s.Role() != "" && Rank(p.Role) >= Rank(s.Role())
}

// Actor names the principal in the audit log: "user:<name>".
func (p Principal) Actor() string { return "user:" + p.User.Name }

// Via names the credential used: "session:<id>" or "token:<id>".
func (p Principal) Via() string {
	if p.Token.Session {
		return "session:" + strconv.FormatInt(p.Token.ID, 10)
	}
	return "token:" + strconv.FormatInt(p.Token.ID, 10)
}
