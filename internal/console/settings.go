package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// settingsIndex goes to the first settings section the role may see.
func (c *Console) settingsIndex(w http.ResponseWriter, r *http.Request, s *session) error {
	target := "/settings/notifications"
	switch {
	case s.CanAdmin():
		target = "/settings/users"
	case s.CanWrite():
		target = "/settings/tokens"
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// settingsView wraps each settings section's data.
type settingsView struct {
	Section string
	Data    any
}

// roles are the user roles, highest first.
var roles = []string{"admin", "analyst", "readonly"}

var usersSpec = &listSpec{
	fields: []field{{name: "role", kind: fMulti, values: roles}},
	sorts:  []string{"name", "created"},
}

func (c *Console) usersPage(w http.ResponseWriter, r *http.Request, s *session) error {
	lv, err := fetchList[user](c, r, s, parseList(usersSpec, r.URL.Query()), apiPath("users"), "/settings/users", nil, nil)
	if err != nil {
		return err
	}
	return c.show(w, r, s, "users", "settings", s.lang.t("settings.users"), settingsView{Section: "users", Data: lv})
}

func (c *Console) userCreatePost(w http.ResponseWriter, r *http.Request, s *session) error {
	f := r.PostForm
	body := map[string]string{"name": strings.TrimSpace(f.Get("name")), "password": f.Get("password"), "role": f.Get("role")}
	if !slices.Contains(roles, body["role"]) {
		return invalid(s, "users.badRole")
	}
	if err := c.api.call(r, s.token, http.MethodPost, apiPath("users"), nil, body, nil); err != nil {
		return err
	}
	setFlash(w, r, "flash.userCreated", 1)
	http.Redirect(w, r, "/settings/users", http.StatusSeeOther)
	return nil
}

// userUpdatePost changes a user's role, disables, enables or deletes it
// (op).
func (c *Console) userUpdatePost(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	f := r.PostForm
	var err error
	key := "flash.userUpdated"
	switch f.Get("op") {
	case "role":
		if !slices.Contains(roles, f.Get("role")) {
			return invalid(s, "users.badRole")
		}
		err = c.api.call(r, s.token, http.MethodPatch, apiPath("users", id), nil, map[string]any{"role": f.Get("role")}, nil)
	case "disable", "enable":
		err = c.api.call(r, s.token, http.MethodPatch, apiPath("users", id), nil, map[string]any{"disabled": f.Get("op") == "disable"}, nil)
	case "delete":
		err = c.api.call(r, s.token, http.MethodDelete, apiPath("users", id), nil, nil, nil)
		key = "flash.userDeleted"
	default:
		return invalid(s, "users.badOp")
	}
	if err != nil {
		return err
	}
	setFlash(w, r, key, 1)
	http.Redirect(w, r, "/settings/users", http.StatusSeeOther)
	return nil
}

// tokensView is the API tokens section.
type tokensView struct {
	listView[token]
	Created *tokenCreated
	Scopes  []string // the scopes the user may give
	TTLs    []string
}

var tokensSpec = &listSpec{sorts: []string{"created"}, desc: true}

// tokenTTLs are the lifetimes offered for API tokens.
var tokenTTLs = []string{"720h", "2160h", "8760h"}

func (c *Console) tokensPage(w http.ResponseWriter, r *http.Request, s *session) error {
	return c.renderTokens(w, r, s, http.StatusOK, nil)
}

func (c *Console) renderTokens(w http.ResponseWriter, r *http.Request, s *session, status int, created *tokenCreated) error {
	q := r.URL.Query()
	if r.Method != http.MethodGet {
		q = url.Values{}
	}
	lv, err := fetchList[token](c, r, s, parseList(tokensSpec, q), apiPath("tokens"), "/settings/tokens", url.Values{"session": {"false"}}, nil)
	if err != nil {
		return err
	}
	v := tokensView{listView: lv, Created: created, Scopes: s.Me.Scopes, TTLs: tokenTTLs}
	c.render(w, r, status, "tokens", &view{Lang: s.lang, Title: s.lang.t("settings.tokens"), Nav: "settings", S: s, Path: "/settings/tokens",
		Page: settingsView{Section: "tokens", Data: v}})
	return nil
}

// tokenCreatePost creates an API token and shows its secret once.
func (c *Console) tokenCreatePost(w http.ResponseWriter, r *http.Request, s *session) error {
	f := r.PostForm
	name := strings.TrimSpace(f.Get("name"))
	if name == "" || !validText(name) {
		return invalid(s, "tokens.badName")
	}
	if !slices.Contains(tokenTTLs, f.Get("ttl")) {
		return invalid(s, "tokens.badTTL")
	}
	var scopes []string
	for _, sc := range f["scope"] {
		if !slices.Contains([]string{"read", "write", "admin"}, sc) {
			return invalid(s, "tokens.badScope")
		}
		scopes = append(scopes, sc)
	}
	if len(scopes) == 0 {
		return invalid(s, "tokens.badScope")
	}
	var created tokenCreated
	if err := c.api.call(r, s.token, http.MethodPost, apiPath("tokens"), nil,
		map[string]any{"name": name, "scopes": scopes, "ttl": f.Get("ttl")}, &created); err != nil {
		return err
	}
	return c.renderTokens(w, r, s, http.StatusCreated, &created)
}

func (c *Console) tokenRevokePost(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.api.call(r, s.token, http.MethodDelete, apiPath("tokens", r.PathValue("id")), nil, nil, nil); err != nil {
		return err
	}
	setFlash(w, r, "flash.tokenRevoked", 1)
	http.Redirect(w, r, "/settings/tokens", http.StatusSeeOther)
	return nil
}

var auditSpec = &listSpec{
	fields: []field{
		{name: "actor", kind: fText},
		{name: "action", kind: fText},
		{name: "target", kind: fText},
		{name: "since", kind: fDate},
		{name: "until", kind: fUntil},
	},
	sorts: []string{"time"},
	desc:  true,
}

func (c *Console) auditPage(w http.ResponseWriter, r *http.Request, s *session) error {
	lv, err := fetchList[auditEntry](c, r, s, parseList(auditSpec, r.URL.Query()), apiPath("audit"), "/settings/audit", nil, nil)
	if err != nil {
		return err
	}
	return c.show(w, r, s, "audit", "settings", s.lang.t("settings.audit"), settingsView{Section: "audit", Data: lv})
}
