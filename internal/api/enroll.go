package api

import (
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Lifetimes and bounds of enrollment tokens.
const (
	defaultEnrollTTL = 24 * time.Hour
	maxEnrollTTL     = 366 * 24 * time.Hour
	maxLabels        = 32
)

var labelKeyRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$`)

// enrollCreate is the body of POST /enrollment-tokens.
type enrollCreate struct {
	Name string `json:"name" doc:"what the token is for, 1-100 characters"`
	// TTL or ExpiresAt, not both; neither means 24 hours.
	TTL       string            `json:"ttl,omitempty" doc:"lifetime as a Go duration (\"24h\"); at most 366 days"`
	ExpiresAt *time.Time        `json:"expiresAt,omitempty"`
	MaxUses   int               `json:"maxUses,omitempty" doc:"0: unlimited until expiry"`
	Labels    map[string]string `json:"labels,omitempty" doc:"given to every agent enrolled with the token"`
}

// enrollCreated answers POST /enrollment-tokens.
type enrollCreated struct {
	Token           string            `json:"token" doc:"the enrollment secret; shown only here"`
	EnrollmentToken store.EnrollToken `json:"enrollmentToken"`
	InstallCommand  string            `json:"installCommand,omitempty"`
}

var enrollSpec = &listSpec{
	filters: []param{{name: "active", desc: `"true": not expired, revoked or used up`}},
	sorts:   []string{"created", "expires"},
	desc:    true,
}

func (s *Server) enrollList(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	o, err := listOptions(r, enrollSpec, nil)
	if err != nil {
		return err
	}
	if _, ok := o.Filter["active"]; ok {
		if _, ok := o.Filter["now"]; !ok {
			o.Filter["now"] = s.now().UTC().Format(time.RFC3339Nano)
		}
	}
	pg, err := s.st.ListEnrollTokens(r.Context(), o)
	if err != nil {
		return err
	}
	writePage(w, r, pg)
	return nil
}

func (s *Server) enrollCreate(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req enrollCreate
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := checkLabel("name", req.Name, 100); err != nil {
		return err
	}
	if req.MaxUses < 0 {
		return invalidf("maxUses must not be negative")
	}
	if len(req.Labels) > maxLabels {
		return invalidf("at most %d labels", maxLabels)
	}
	for k, v := range req.Labels {
		if !labelKeyRE.MatchString(k) {
			return invalidf("label key %q: 1-63 letters, digits, '.', '_', '/', '-'", k)
		}
		if len(v) > 255 {
			return invalidf("label %q: value over 255 bytes", k)
		}
	}
	now := s.now()
	expires, err := expiry(now, req.TTL, req.ExpiresAt, defaultEnrollTTL, maxEnrollTTL)
	if err != nil {
		return err
	}
	secret := auth.NewToken(auth.KindEnroll)
	t, err := s.st.CreateEnrollToken(r.Context(), store.EnrollToken{
		Name:      req.Name,
		Hash:      auth.Hash(secret),
		Labels:    req.Labels,
		ExpiresAt: expires,
		MaxUses:   req.MaxUses,
		CreatedBy: p.Actor(),
		CreatedAt: now,
	})
	if err != nil {
		return err
	}
	s.audit(r.Context(), r, p, actEnrollCreate, enrollTarget(t.ID), map[string]any{
		"name": t.Name, "expiresAt": t.ExpiresAt, "maxUses": t.MaxUses, "labels": t.Labels,
	})
	resp := enrollCreated{Token: secret, EnrollmentToken: t}
	if s.o.AgentInstall != nil {
		resp.InstallCommand = s.o.AgentInstall(secret)
	}
	writeJSON(w, http.StatusCreated, resp)
	return nil
}

func (s *Server) enrollRevoke(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	t, err := s.st.EnrollToken(ctx, id)
	if err != nil {
		return err
	}
	if t.RevokedAt != nil {
		return errorf(http.StatusConflict, codeConflict, "enrollment token already revoked")
	}
	if err := s.st.RevokeEnrollToken(ctx, id, s.now()); err != nil {
		return err
	}
	s.audit(ctx, r, p, actEnrollRevoke, enrollTarget(id), map[string]any{"name": t.Name})
	noContent(w)
	return nil
}

func enrollTarget(id int64) string { return "enrollment_token:" + strconv.FormatInt(id, 10) }
