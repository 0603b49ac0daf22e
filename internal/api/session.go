package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// loginRequest is the body of POST /login.
type loginRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// loginResponse answers a successful login.
type loginResponse struct {
	Token     string     `json:"token" doc:"the session's bearer token; shown only here"`
	ExpiresAt time.Time  `json:"expiresAt"`
	User      store.User `json:"user"`
}

// maxLoginName bounds the user name a login may try, which ends up in the
// audit log.
const maxLoginName = 256

func (s *Server) login(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	var req loginRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Name == "" || req.Password == "" {
		return invalidf("name and password are required")
	}
	if len(req.Name) > maxLoginName {
		return invalidf("name is too long")
	}
	ctx := r.Context()
	target := "user:" + req.Name
	attempt, wait := s.throttle.Begin(req.Name, remoteAddr(r))
	if attempt == nil {
		s.audit(ctx, r, nil, actLoginFail, target, map[string]any{"reason": "throttled"})
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		return errorf(http.StatusTooManyRequests, codeTooMany, "too many failed logins; retry in %d seconds", secs)
	}
	u, ok, err := s.checkPassword(ctx, req.Name, req.Password)
	if err != nil {
		attempt.Done(false)
		return err
	}
	if !ok {
		attempt.Done(false)
		reason := "bad credentials"
		if u.Disabled {
			reason = "user disabled"
		}
		s.audit(ctx, r, nil, actLoginFail, target, map[string]any{"reason": reason})
		return errorf(http.StatusUnauthorized, codeBadCredentials, msgInvalidCredential)
	}
	attempt.Done(true)
	if s.hasher.NeedsRehash(u.PasswordHash) {
		if h, err := s.hasher.Hash(ctx, req.Password); err == nil {
			u.PasswordHash = h
			if err := s.st.UpdateUser(ctx, u); err != nil {
				s.log.WarnContext(ctx, "rehash password", "user", u.ID, "err", err)
			}
		}
	}
	now := s.now()
	secret := auth.NewToken(auth.KindSession)
	t, err := s.st.CreateToken(ctx, store.Token{
		UserID:    u.ID,
		Name:      "session",
		Session:   true,
		Hash:      auth.Hash(secret),
		Scopes:    auth.ScopeStrings(auth.RoleScopes(u.Role)),
		ExpiresAt: now.Add(s.o.SessionTTL),
		CreatedAt: now,
	})
	if err != nil {
		return err
	}
	p := auth.NewPrincipal(u, t)
	s.audit(ctx, r, &p, actLoginOK, userTarget(u.ID), nil)
	writeJSON(w, http.StatusOK, loginResponse{Token: secret, ExpiresAt: t.ExpiresAt, User: u})
	return nil
}

// checkPassword finds the user and verifies the password. An unknown user
// costs one verification too, so timing does not tell which names exist;
// a disabled user is refused after verification for the same reason.
func (s *Server) checkPassword(ctx context.Context, name, password string) (store.User, bool, error) {
	u, err := s.st.UserByName(ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return u, false, err
	}
	if err != nil {
		u = store.User{}
	}
	ok, err := s.hasher.Verify(ctx, u.PasswordHash, password)
	if err != nil {
		if errors.Is(err, auth.ErrHashFormat) {
			s.log.ErrorContext(ctx, "unreadable password hash", "user", u.ID, "err", err)
			return u, false, nil
		}
		return u, false, err
	}
	return u, ok && u.ID != 0 && !u.Disabled, nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if !p.Token.Session {
		return invalidf("logout ends sessions; revoke API tokens with DELETE /api/v1/tokens/{id}")
	}
	if err := s.st.RevokeToken(r.Context(), p.Token.ID, s.now()); err != nil {
		return err
	}
	s.audit(r.Context(), r, p, actLogout, tokenTarget(p.Token.ID), nil)
	noContent(w)
	return nil
}

// meResponse describes the caller.
type meResponse struct {
	User store.User `json:"user"`
	// Role is the effective role: the user's, capped by the token's scopes.
	Role   store.Role  `json:"role" doc:"the user's role capped by the token's scopes"`
	Scopes []string    `json:"scopes"`
	Token  store.Token `json:"token"`
}

func (s *Server) me(w http.ResponseWriter, _ *http.Request, p *auth.Principal) error {
	writeJSON(w, http.StatusOK, meResponse{
		User:   p.User,
		Role:   p.Role,
		Scopes: auth.ScopeStrings(p.Scopes),
		Token:  p.Token,
	})
	return nil
}

// health answers /healthz.
type health struct {
	Status  string `json:"status"`
	Version string `json:"version,omitempty"`
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request, _ *auth.Principal) error {
	writeJSON(w, http.StatusOK, health{Status: "ok", Version: s.o.Version})
	return nil
}

func (s *Server) openapiDoc(w http.ResponseWriter, _ *http.Request, _ *auth.Principal) error {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(s.openapi)
	return nil
}

func userTarget(id int64) string  { return "user:" + strconv.FormatInt(id, 10) }
func tokenTarget(id int64) string { return "token:" + strconv.FormatInt(id, 10) }
