package api

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

func TestLogin(t *testing.T) {
	e := newEnv(t)
	var got loginResponse
	want(t, e.do("POST", "/api/v1/login", "", loginRequest{Name: "ana", Password: analystPassword}), 200, &got)
	if got.User.Name != "ana" || got.Token == "" || !got.ExpiresAt.Equal(e.clock.Now().Add(12*time.Hour)) {
		t.Fatalf("login response %+v", got)
	}
	var me meResponse
	want(t, e.do("GET", "/api/v1/me", got.Token, nil), 200, &me)
	if me.User.ID != e.analyst.ID || me.Role != store.RoleAnalyst || !me.Token.Session || len(me.Scopes) != 2 {
		t.Errorf("me = %+v", me)
	}
	// The session ends after 12 hours.
	e.clock.Advance(12 * time.Hour)
	want(t, e.do("GET", "/api/v1/me", got.Token, nil), 401, nil)

	for name, req := range map[string]loginRequest{
		"wrong password": {Name: "ana", Password: adminPassword},
		"unknown user":   {Name: "nobody", Password: analystPassword},
		"wrong case":     {Name: "ANA", Password: analystPassword},
	} {
		w := e.do("POST", "/api/v1/login", "", req)
		if w.Code != 401 || errCode(t, w) != codeBadCredentials {
			t.Errorf("%s: %d %s", name, w.Code, w.Body.String())
		}
	}
	for name, body := range map[string]string{
		"empty":         `{}`,
		"no password":   `{"name":"ana"}`,
		"unknown field": `{"name":"ana","password":"x","otp":"1"}`,
		"not json":      `name=ana`,
	} {
		if w := e.do("POST", "/api/v1/login", "", body); w.Code != 400 {
			t.Errorf("%s: %d %s", name, w.Code, w.Body.String())
		}
	}

	// A disabled user cannot sign in, even with the right password.
	u := e.readonly
	u.Disabled = true
	if err := e.st.UpdateUser(e.ctx, u); err != nil {
		t.Fatal(err)
	}
	if w := e.do("POST", "/api/v1/login", "", loginRequest{Name: "rita", Password: readonlyPassword}); w.Code != 401 {
		t.Errorf("disabled user: %d", w.Code)
	}
}

func TestLoginThrottle(t *testing.T) {
	e := newEnv(t)
	login := func(pw string) *httptest.ResponseRecorder {
		return e.do("POST", "/api/v1/login", "", loginRequest{Name: "ana", Password: pw})
	}
	// Four failures, then a success, resets the user's count...
	for range 4 {
		want(t, login("wrong password!"), 401, nil)
	}
	want(t, login(analystPassword), 200, nil)
	// ...but the address keeps its four: one more failure locks it.
	want(t, login("wrong password!"), 401, nil)
	w := login(analystPassword)
	if w.Code != http.StatusTooManyRequests || errCode(t, w) != codeTooMany {
		t.Fatalf("after 5 failures: %d %s", w.Code, w.Body.String())
	}
	if ra, _ := strconv.Atoi(w.Header().Get("Retry-After")); ra != 60 {
		t.Errorf("Retry-After = %q; want 60", w.Header().Get("Retry-After"))
	}
	e.clock.Advance(59 * time.Second)
	want(t, login(analystPassword), 429, nil)
	e.clock.Advance(time.Second)
	want(t, login(analystPassword), 200, nil)

	// Five more failures: the second lockout lasts twice as long.
	for range 5 {
		want(t, login("wrong password!"), 401, nil)
	}
	w = login(analystPassword)
	if w.Code != 429 || w.Header().Get("Retry-After") != "120" {
		t.Fatalf("second lockout: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}

	// Every attempt is audited, never with the password.
	var fails, throttled, ok int
	for _, a := range e.audits() {
		switch {
		case a.Action == actLoginFail && string(a.Detail) == `{"reason":"throttled"}`:
			throttled++
		case a.Action == actLoginFail:
			fails++
		case a.Action == actLoginOK:
			ok++
		}
	}
	if fails != 10 || throttled != 3 || ok != 2 {
		t.Errorf("audit: %d failures, %d throttled, %d successes; want 10, 3, 2", fails, throttled, ok)
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	var got loginResponse
	want(t, e.do("POST", "/api/v1/login", "", loginRequest{Name: "rita", Password: readonlyPassword}), 200, &got)
	want(t, e.do("POST", "/api/v1/logout", got.Token, nil), 204, nil)
	want(t, e.do("GET", "/api/v1/me", got.Token, nil), 401, nil)
	want(t, e.do("POST", "/api/v1/logout", got.Token, nil), 401, nil)

	// API tokens are revoked explicitly, not by logging out.
	tok := e.mint(e.readonly, "api", []string{"read"})
	w := e.do("POST", "/api/v1/logout", tok, nil)
	if w.Code != 400 {
		t.Errorf("logout with an API token: %d", w.Code)
	}
	want(t, e.do("GET", "/api/v1/me", tok, nil), 200, nil)
}

func TestHealthzAndOpenAPIArePublic(t *testing.T) {
	e := newEnv(t)
	var h health
	want(t, e.do("GET", "/healthz", "", nil), 200, &h)
	if h.Status != "ok" || h.Version != "test" {
		t.Errorf("healthz = %+v", h)
	}
	want(t, e.do("GET", "/api/v1/openapi.json", "", nil), 200, nil)
}
