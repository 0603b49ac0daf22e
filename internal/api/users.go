package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// nameRE is what user names may look like.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// userCreate is the body of POST /users.
type userCreate struct {
	Name     string     `json:"name" doc:"1-64 of letters, digits, . _ @ -, starting with a letter or digit"`
	Password string     `json:"password" doc:"at least 12 characters"`
	Role     store.Role `json:"role"`
}

// userPatch is the body of PATCH /users/{id}; absent fields are kept.
type userPatch struct {
	Role     *store.Role `json:"role,omitempty"`
	Password *string     `json:"password,omitempty" doc:"a new password; ends the user's sessions"`
	Disabled *bool       `json:"disabled,omitempty" doc:"a disabled user cannot sign in or use tokens"`
}

var usersSpec = &listSpec{
	filters: []param{{name: "name", desc: "exact name"}, {name: "role", desc: "admin, analyst or readonly"}},
	sorts:   []string{"name", "created"},
}

func (s *Server) usersList(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	o, err := listOptions(r, usersSpec, nil)
	if err != nil {
		return err
	}
	pg, err := s.st.ListUsers(r.Context(), o)
	if err != nil {
		return err
	}
	writePage(w, r, pg)
	return nil
}

func (s *Server) userCreate(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req userCreate
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if !nameRE.MatchString(req.Name) {
		return invalidf("name must be 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit")
	}
	if !auth.ValidRole(req.Role) {
		return invalidf("role must be admin, analyst or readonly")
	}
	if err := auth.CheckPassword(req.Password); err != nil {
		return invalidf("password: %v", errText(err))
	}
	hash, err := s.hasher.Hash(r.Context(), req.Password)
	if err != nil {
		return err
	}
	u, err := s.st.CreateUser(r.Context(), store.User{
		Name:         req.Name,
		Role:         req.Role,
		PasswordHash: hash,
		CreatedAt:    s.now(),
	})
	if errors.Is(err, store.ErrConflict) {
		return errorf(http.StatusConflict, codeConflict, "a user named %q exists", req.Name)
	}
	if err != nil {
		return err
	}
	s.audit(r.Context(), r, p, actUserCreate, userTarget(u.ID), map[string]any{"name": u.Name, "role": u.Role})
	writeJSON(w, http.StatusCreated, u)
	return nil
}

func (s *Server) userUpdate(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req userPatch
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Role == nil && req.Password == nil && req.Disabled == nil {
		return invalidf("nothing to change: give role, password or disabled")
	}
	if req.Role != nil && !auth.ValidRole(*req.Role) {
		return invalidf("role must be admin, analyst or readonly")
	}
	detail := map[string]any{}
	var hash string
	if req.Password != nil {
		if err := auth.CheckPassword(*req.Password); err != nil {
			return invalidf("password: %v", errText(err))
		}
		if hash, err = s.hasher.Hash(r.Context(), *req.Password); err != nil {
			return err
		}
		detail["passwordChanged"] = true
	}

	ctx := r.Context()
	s.userMu.Lock()
	defer s.userMu.Unlock()
	u, err := s.st.User(ctx, id)
	if err != nil {
		return err
	}
	next := u
	if req.Role != nil {
		next.Role = *req.Role
		detail["role"] = *req.Role
	}
	if req.Disabled != nil {
		next.Disabled = *req.Disabled
		detail["disabled"] = *req.Disabled
	}
	if hash != "" {
		next.PasswordHash = hash
	}
	if activeAdmin(u) && !activeAdmin(next) {
		if err := s.keepAnAdmin(ctx); err != nil {
			return err
		}
	}
	if err := s.st.UpdateUser(ctx, next); err != nil {
		return err
	}
	if hash != "" {
		// A new password ends the sessions signed in with the old one.
		if err := s.revokeTokens(ctx, id, true); err != nil {
			return err
		}
	}
	s.audit(ctx, r, p, actUserUpdate, userTarget(id), detail)
	writeJSON(w, http.StatusOK, next)
	return nil
}

func (s *Server) userDelete(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	s.userMu.Lock()
	defer s.userMu.Unlock()
	u, err := s.st.User(ctx, id)
	if err != nil {
		return err
	}
	if activeAdmin(u) {
		if err := s.keepAnAdmin(ctx); err != nil {
			return err
		}
	}
	// Revoke first: a token must never outlive its user, even if the
	// store were to reuse the id.
	if err := s.revokeTokens(ctx, id, false); err != nil {
		return err
	}
	if err := s.st.DeleteUser(ctx, id); err != nil {
		return err
	}
	s.audit(ctx, r, p, actUserDelete, userTarget(id), map[string]any{"name": u.Name, "role": u.Role})
	noContent(w)
	return nil
}

func activeAdmin(u store.User) bool { return u.Role == store.RoleAdmin && !u.Disabled }

// keepAnAdmin refuses a change that would remove an active admin when
// there is only one. Callers hold userMu.
func (s *Server) keepAnAdmin(ctx context.Context) error {
	admins, err := listAll(func(o store.ListOptions) (store.Page[store.User], error) {
		return s.st.ListUsers(ctx, o)
	}, store.ListOptions{Filter: map[string]string{"role": string(store.RoleAdmin)}}, 1000)
	if err != nil {
		return err
	}
	n := 0
	for _, a := range admins {
		if activeAdmin(a) {
			n++
		}
	}
	if n <= 1 {
		return errorf(http.StatusConflict, codeLastAdmin, "this is the last active admin")
	}
	return nil
}

// revokeTokens revokes the live tokens of a user (only sessions when
// sessionsOnly).
func (s *Server) revokeTokens(ctx context.Context, userID int64, sessionsOnly bool) error {
	f := map[string]string{"user_id": strconv.FormatInt(userID, 10)}
	if sessionsOnly {
		f["session"] = "true"
	}
	toks, err := listAll(func(o store.ListOptions) (store.Page[store.Token], error) {
		return s.st.ListTokens(ctx, o)
	}, store.ListOptions{Filter: f}, 1<<20)
	if err != nil {
		return fmt.Errorf("list tokens of user %d: %w", userID, err)
	}
	now := s.now()
	for _, t := range toks {
		if t.RevokedAt != nil || !now.Before(t.ExpiresAt) {
			continue
		}
		if err := s.st.RevokeToken(ctx, t.ID, now); err != nil {
			return fmt.Errorf("revoke token %d: %w", t.ID, err)
		}
	}
	return nil
}

// pathID reads the integer {id} path parameter.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errorf(http.StatusNotFound, codeNotFound, "not found")
	}
	return id, nil
}

// errText is an auth error's message without the package prefix.
func errText(err error) string {
	const prefix = "auth: "
	msg := err.Error()
	if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		return msg[len(prefix):]
	}
	return msg
}
