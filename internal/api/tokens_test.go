package api

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

func TestTokens(t *testing.T) {
	e := newEnv(t)
	ana := e.session(e.analyst)

	var c tokenCreated
	want(t, e.do("POST", "/api/v1/tokens", ana, tokenCreate{Name: "ci", Scopes: []string{"write", "read"}, TTL: "720h"}), 201, &c)
	if k, err := auth.ParseToken(c.Token); err != nil || k != auth.KindAPI {
		t.Fatalf("token %q: %v", c.Token, err)
	}
	if c.APIToken.UserID != e.analyst.ID || c.APIToken.Session || strings.Join(c.APIToken.Scopes, ",") != "read,write" ||
		!c.APIToken.ExpiresAt.Equal(e.clock.Now().Add(720*time.Hour)) {
		t.Errorf("created %+v", c.APIToken)
	}
	var me meResponse
	want(t, e.do("GET", "/api/v1/me", c.Token, nil), 200, &me)
	if me.Role != store.RoleAnalyst || me.Token.ID != c.APIToken.ID {
		t.Errorf("me with the new token: %+v", me)
	}

	for name, req := range map[string]tokenCreate{
		"no name":       {Scopes: []string{"read"}},
		"no scopes":     {Name: "x"},
		"unknown scope": {Name: "x", Scopes: []string{"root"}},
		"both expiries": {Name: "x", Scopes: []string{"read"}, TTL: "1h", ExpiresAt: ptr(e.clock.Now().Add(time.Hour))},
		"past":          {Name: "x", Scopes: []string{"read"}, ExpiresAt: ptr(e.clock.Now().Add(-time.Hour))},
		"too long":      {Name: "x", Scopes: []string{"read"}, TTL: "10000h"},
		"bad ttl":       {Name: "x", Scopes: []string{"read"}, TTL: "forever"},
		"control chars": {Name: "x\ny", Scopes: []string{"read"}},
	} {
		if w := e.do("POST", "/api/v1/tokens", ana, req); w.Code != 400 {
			t.Errorf("%s: %d %s", name, w.Code, w.Body.String())
		}
	}
	// No scope beyond the caller's: an analyst cannot mint admin, and an
	// admin's write token cannot mint admin either.
	if w := e.do("POST", "/api/v1/tokens", ana, tokenCreate{Name: "x", Scopes: []string{"admin"}}); w.Code != 403 {
		t.Errorf("analyst minting admin: %d", w.Code)
	}
	adminWrite := e.mint(e.admin, auth.KindAPI, []string{"write"})
	if w := e.do("POST", "/api/v1/tokens", adminWrite, tokenCreate{Name: "x", Scopes: []string{"read", "admin"}}); w.Code != 403 {
		t.Errorf("write token minting admin: %d", w.Code)
	}

	// Listing shows own tokens, never a secret.
	w := e.do("GET", "/api/v1/tokens", ana, nil)
	var page pageBody[store.Token]
	want(t, w, 200, &page)
	if strings.Contains(w.Body.String(), c.Token) || strings.Contains(w.Body.String(), "hash") {
		t.Error("token list shows a secret or hash")
	}
	for _, tk := range page.Items {
		if tk.UserID != e.analyst.ID {
			t.Errorf("analyst sees token of user %d", tk.UserID)
		}
	}
	if w := e.do("GET", "/api/v1/tokens?user_id="+strconv.FormatInt(e.admin.ID, 10), ana, nil); w.Code != 403 {
		t.Errorf("analyst listing admin's tokens: %d", w.Code)
	}
	admin := e.session(e.admin)
	want(t, e.do("GET", "/api/v1/tokens?user_id="+strconv.FormatInt(e.analyst.ID, 10), admin, nil), 200, &page)
	if len(page.Items) != 2 { // the session and "ci"
		t.Errorf("admin sees %d of ana's tokens; want 2", len(page.Items))
	}

	// Revocation: own only, unless admin.
	path := "/api/v1/tokens/" + strconv.FormatInt(c.APIToken.ID, 10)
	other := e.session(e.user("ann", store.RoleAnalyst, "ann's password!"))
	want(t, e.do("DELETE", path, other, nil), 404, nil)
	want(t, e.do("DELETE", path, ana, nil), 204, nil)
	want(t, e.do("GET", "/api/v1/me", c.Token, nil), 401, nil)
	want(t, e.do("DELETE", path, ana, nil), 409, nil)
	want(t, e.do("POST", "/api/v1/tokens", ana, tokenCreate{Name: "ci2", Scopes: []string{"read"}}), 201, &c)
	want(t, e.do("DELETE", "/api/v1/tokens/"+strconv.FormatInt(c.APIToken.ID, 10), admin, nil), 204, nil)
	want(t, e.do("DELETE", "/api/v1/tokens/notanumber", admin, nil), 404, nil)
}
