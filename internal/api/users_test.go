package api

import (
	"strconv"
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

func userPath(id int64) string { return "/api/v1/users/" + strconv.FormatInt(id, 10) }

func ptr[T any](v T) *T { return &v }

func TestUsers(t *testing.T) {
	e := newEnv(t)
	admin := e.session(e.admin)

	var u store.User
	want(t, e.do("POST", "/api/v1/users", admin, userCreate{Name: "bob", Password: "bob's password 1", Role: store.RoleAnalyst}), 201, &u)
	if u.Name != "bob" || u.Role != store.RoleAnalyst || u.ID == 0 {
		t.Fatalf("created %+v", u)
	}
	for name, req := range map[string]userCreate{
		"weak password": {Name: "carl", Password: "short", Role: store.RoleAnalyst},
		"bad role":      {Name: "carl", Password: "long enough password", Role: "root"},
		"bad name":      {Name: "carl smith", Password: "long enough password", Role: store.RoleAnalyst},
		"empty name":    {Password: "long enough password", Role: store.RoleAnalyst},
	} {
		if w := e.do("POST", "/api/v1/users", admin, req); w.Code != 400 {
			t.Errorf("%s: %d %s", name, w.Code, w.Body.String())
		}
	}
	w := e.do("POST", "/api/v1/users", admin, userCreate{Name: "bob", Password: "another password", Role: store.RoleReadOnly})
	if w.Code != 409 {
		t.Errorf("duplicate name: %d", w.Code)
	}

	// bob signs in; a password change ends his sessions but not his API
	// tokens.
	var login loginResponse
	want(t, e.do("POST", "/api/v1/login", "", loginRequest{Name: "bob", Password: "bob's password 1"}), 200, &login)
	bobAPI := e.mint(u, "api", []string{"read"})
	want(t, e.do("PATCH", userPath(u.ID), admin, userPatch{Password: ptr("bob's new password")}), 200, nil)
	want(t, e.do("GET", "/api/v1/me", login.Token, nil), 401, nil)
	want(t, e.do("GET", "/api/v1/me", bobAPI, nil), 200, nil)
	want(t, e.do("POST", "/api/v1/login", "", loginRequest{Name: "bob", Password: "bob's new password"}), 200, &login)

	// Demoting bob narrows his session at once.
	want(t, e.do("PATCH", userPath(u.ID), admin, userPatch{Role: ptr(store.RoleReadOnly)}), 200, &u)
	if u.Role != store.RoleReadOnly {
		t.Errorf("role after patch: %s", u.Role)
	}
	want(t, e.do("GET", "/api/v1/tokens", login.Token, nil), 403, nil)

	// Disabling him locks every token out.
	want(t, e.do("PATCH", userPath(u.ID), admin, userPatch{Disabled: ptr(true)}), 200, nil)
	want(t, e.do("GET", "/api/v1/me", bobAPI, nil), 401, nil)
	want(t, e.do("PATCH", userPath(u.ID), admin, userPatch{Disabled: ptr(false)}), 200, nil)

	for name, body := range map[string]any{
		"nothing":    `{}`,
		"bad role":   `{"role":"root"}`,
		"weak":       `{"password":"short"}`,
		"unknown":    `{"name":"x"}`,
		"wrong type": `{"disabled":"yes"}`,
	} {
		if w := e.do("PATCH", userPath(u.ID), admin, body); w.Code != 400 {
			t.Errorf("patch %s: %d %s", name, w.Code, w.Body.String())
		}
	}
	want(t, e.do("PATCH", "/api/v1/users/424242", admin, userPatch{Disabled: ptr(true)}), 404, nil)
	want(t, e.do("PATCH", "/api/v1/users/abc", admin, userPatch{Disabled: ptr(true)}), 404, nil)

	// Deleting bob revokes his tokens.
	want(t, e.do("DELETE", userPath(u.ID), admin, nil), 204, nil)
	want(t, e.do("GET", "/api/v1/me", bobAPI, nil), 401, nil)
	want(t, e.do("DELETE", userPath(u.ID), admin, nil), 404, nil)

	var page pageBody[store.User]
	want(t, e.do("GET", "/api/v1/users", admin, nil), 200, &page)
	if len(page.Items) != 3 {
		t.Errorf("users after delete: %d", len(page.Items))
	}
}

func TestLastAdmin(t *testing.T) {
	e := newEnv(t)
	root := e.session(e.admin)
	for name, tc := range map[string]struct {
		method string
		body   any
	}{
		"demote":  {"PATCH", userPatch{Role: ptr(store.RoleAnalyst)}},
		"disable": {"PATCH", userPatch{Disabled: ptr(true)}},
		"delete":  {"DELETE", nil},
	} {
		w := e.do(tc.method, userPath(e.admin.ID), root, tc.body)
		if w.Code != 409 || errCode(t, w) != codeLastAdmin {
			t.Errorf("%s the last admin: %d %s", name, w.Code, w.Body.String())
		}
	}
	// A disabled admin does not count.
	var other store.User
	want(t, e.do("POST", "/api/v1/users", root, userCreate{Name: "root2", Password: "second admin pw", Role: store.RoleAdmin}), 201, &other)
	want(t, e.do("PATCH", userPath(other.ID), root, userPatch{Disabled: ptr(true)}), 200, nil)
	want(t, e.do("DELETE", userPath(e.admin.ID), root, nil), 409, nil)
	// Once root2 is active again, root may step down, and then root2 is
	// the last.
	want(t, e.do("PATCH", userPath(other.ID), root, userPatch{Disabled: ptr(false)}), 200, nil)
	want(t, e.do("PATCH", userPath(e.admin.ID), root, userPatch{Role: ptr(store.RoleAnalyst)}), 200, nil)
	// root's session lost admin with the role.
	want(t, e.do("GET", "/api/v1/users", root, nil), 403, nil)
	root2 := e.session(other)
	want(t, e.do("DELETE", userPath(other.ID), root2, nil), 409, nil)
	// Non-admin changes to other users stay possible.
	want(t, e.do("PATCH", userPath(e.analyst.ID), root2, userPatch{Role: ptr(store.RoleReadOnly)}), 200, nil)
}
