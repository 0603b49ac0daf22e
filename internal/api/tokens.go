package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Lifetimes of API tokens.
const (
	defaultTokenTTL = 90 * 24 * time.Hour
	maxTokenTTL     = 366 * 24 * time.Hour
)

// tokenCreate is the body of POST /tokens.
type tokenCreate struct {
	Name   string   `json:"name" doc:"what the token is for, 1-100 characters"`
	Scopes []string `json:"scopes" enum:"read,write,admin" doc:"none beyond the caller's own"`
	// TTL or ExpiresAt, not both; neither means 90 days.
	TTL       string     `json:"ttl,omitempty" doc:"lifetime as a Go duration (\"720h\"); at most 366 days"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

// tokenCreated answers POST /tokens.
type tokenCreated struct {
	Token    string      `json:"token" doc:"the bearer secret; shown only here"`
	APIToken store.Token `json:"apiToken"`
}

var tokensSpec = &listSpec{
	filters: []param{
		{name: "user_id", desc: "whose tokens (admins only; default: your own)"},
		{name: "session", desc: `"true" for login sessions, "false" for API tokens`},
	},
	sorts: []string{"created"},
	desc:  true,
}

func (s *Server) tokensList(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	o, err := listOptions(r, tokensSpec, nil)
	if err != nil {
		return err
	}
	own := strconv.FormatInt(p.User.ID, 10)
	if uid, ok := o.Filter["user_id"]; !ok {
		o.Filter["user_id"] = own
	} else if uid != own && !p.Can(store.RoleAdmin) {
		return errorf(http.StatusForbidden, codeForbidden, "only admins list other users' tokens")
	}
	pg, err := s.st.ListTokens(r.Context(), o)
	if err != nil {
		return err
	}
	writePage(w, r, pg)
	return nil
}

func (s *Server) tokenCreate(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req tokenCreate
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := checkLabel("name", req.Name, 100); err != nil {
		return err
	}
	if len(req.Scopes) == 0 {
		return invalidf("scopes are required: read, write and/or admin")
	}
	scopes, err := auth.ParseScopes(req.Scopes)
	if err != nil {
		return invalidf("%s", errText(err))
	}
	for _, sc := range scopes {
		// Cap by the effective role: a narrow token cannot mint a wider one.
		if !p.HasScope(sc) {
			return errorf(http.StatusForbidden, codeScope, "scope %s is beyond your own", sc)
		}
	}
	now := s.now()
	expires, err := expiry(now, req.TTL, req.ExpiresAt, defaultTokenTTL, maxTokenTTL)
	if err != nil {
		return err
	}
	secret := auth.NewToken(auth.KindAPI)
	t, err := s.st.CreateToken(r.Context(), store.Token{
		UserID:    p.User.ID,
		Name:      req.Name,
		Hash:      auth.Hash(secret),
		Scopes:    auth.ScopeStrings(scopes),
		ExpiresAt: expires,
		CreatedAt: now,
	})
	if err != nil {
		return err
	}
	s.audit(r.Context(), r, p, actTokenCreate, tokenTarget(t.ID), map[string]any{
		"name": t.Name, "scopes": t.Scopes, "expiresAt": t.ExpiresAt,
	})
	writeJSON(w, http.StatusCreated, tokenCreated{Token: secret, APIToken: t})
	return nil
}

func (s *Server) tokenRevoke(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	t, err := s.st.Token(ctx, id)
	if err != nil {
		return err
	}
	if t.UserID != p.User.ID && !p.Can(store.RoleAdmin) {
		// Someone else's token does not exist as far as the caller knows.
		return errorf(http.StatusNotFound, codeNotFound, "not found")
	}
	if t.RevokedAt != nil {
		return errorf(http.StatusConflict, codeConflict, "token already revoked")
	}
	if err := s.st.RevokeToken(ctx, id, s.now()); err != nil {
		return err
	}
	s.audit(ctx, r, p, actTokenRevoke, tokenTarget(id), map[string]any{
		"name": t.Name, "userId": t.UserID, "session": t.Session,
	})
	noContent(w)
	return nil
}

// expiry resolves a TTL or an absolute expiry (not both; neither means
// def) to a time after now, at most maxTTL ahead.
func expiry(now time.Time, ttl string, at *time.Time, def, maxTTL time.Duration) (time.Time, error) {
	switch {
	case ttl != "" && at != nil:
		return time.Time{}, invalidf("give ttl or expiresAt, not both")
	case ttl != "":
		d, err := time.ParseDuration(ttl)
		if err != nil || d <= 0 {
			return time.Time{}, invalidf("ttl must be a positive duration such as \"24h\"")
		}
		if d > maxTTL {
			return time.Time{}, invalidf("ttl must be at most %s", maxTTL)
		}
		return now.Add(d), nil
	case at != nil:
		if !at.After(now) {
			return time.Time{}, invalidf("expiresAt must be in the future")
		}
		if at.Sub(now) > maxTTL {
			return time.Time{}, invalidf("expiresAt must be at most %s ahead", maxTTL)
		}
		return *at, nil
	}
	return now.Add(def), nil
}

// checkLabel requires a non-empty printable name of at most n bytes.
func checkLabel(field, v string, n int) error {
	if v == "" {
		return invalidf("%s is required", field)
	}
	if len(v) > n {
		return invalidf("%s must be at most %d bytes", field, n)
	}
	for _, c := range v {
		if c < 0x20 || c == 0x7f || c == '\uFFFD' {
			return invalidf("%s must be printable text", field)
		}
	}
	return nil
}
