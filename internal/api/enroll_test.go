package api

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

func TestEnrollmentTokens(t *testing.T) {
	e := newEnv(t)
	admin := e.session(e.admin)
	var c enrollCreated
	want(t, e.do("POST", "/api/v1/enrollment-tokens", admin, enrollCreate{
		Name: "prod hosts", TTL: "48h", MaxUses: 3, Labels: map[string]string{"env": "prod"},
	}), 201, &c)
	if k, err := auth.ParseToken(c.Token); err != nil || k != auth.KindEnroll {
		t.Fatalf("secret %q: %v", c.Token, err)
	}
	if !strings.HasSuffix(c.InstallCommand, "--token "+c.Token) {
		t.Errorf("install command %q", c.InstallCommand)
	}
	et := c.EnrollmentToken
	if et.Name != "prod hosts" || et.MaxUses != 3 || et.Labels["env"] != "prod" || et.CreatedBy != "user:root" ||
		!et.ExpiresAt.Equal(e.clock.Now().Add(48*time.Hour)) {
		t.Errorf("created %+v", et)
	}

	// The secret is shown once: neither the list nor the audit log has it.
	w := e.do("GET", "/api/v1/enrollment-tokens", admin, nil)
	var page pageBody[store.EnrollToken]
	want(t, w, 200, &page)
	if len(page.Items) != 1 || page.Items[0].ID != et.ID {
		t.Fatalf("list = %s", w.Body.String())
	}
	if strings.Contains(w.Body.String(), c.Token) || strings.Contains(w.Body.String(), c.Token[8:]) {
		t.Error("list shows the secret")
	}
	want(t, e.do("GET", "/api/v1/enrollment-tokens?active=true", admin, nil), 200, &page)
	if len(page.Items) != 1 {
		t.Errorf("active list has %d", len(page.Items))
	}

	// The store holds its hash: an agent can enroll with it.
	if _, err := e.st.UseEnrollToken(e.ctx, auth.Hash(c.Token), e.clock.Now()); err != nil {
		t.Fatalf("use the new token: %v", err)
	}
	// It does not authenticate API calls.
	want(t, e.do("GET", "/api/v1/me", c.Token, nil), 401, nil)

	path := "/api/v1/enrollment-tokens/" + strconv.FormatInt(et.ID, 10)
	want(t, e.do("DELETE", path, admin, nil), 204, nil)
	want(t, e.do("DELETE", path, admin, nil), 409, nil)
	if _, err := e.st.UseEnrollToken(e.ctx, auth.Hash(c.Token), e.clock.Now()); err == nil {
		t.Error("revoked token still enrolls")
	}
	want(t, e.do("GET", "/api/v1/enrollment-tokens?active=true", admin, nil), 200, &page)
	if len(page.Items) != 0 {
		t.Errorf("active list after revoke has %d", len(page.Items))
	}
	want(t, e.do("DELETE", "/api/v1/enrollment-tokens/4242", admin, nil), 404, nil)

	// Defaults: 24 hours, unlimited uses.
	want(t, e.do("POST", "/api/v1/enrollment-tokens", admin, enrollCreate{Name: "lab"}), 201, &c)
	if !c.EnrollmentToken.ExpiresAt.Equal(e.clock.Now().Add(24*time.Hour)) || c.EnrollmentToken.MaxUses != 0 {
		t.Errorf("defaults: %+v", c.EnrollmentToken)
	}
	at := e.clock.Now().Add(time.Hour)
	want(t, e.do("POST", "/api/v1/enrollment-tokens", admin, enrollCreate{Name: "lab", ExpiresAt: &at}), 201, &c)
	if !c.EnrollmentToken.ExpiresAt.Equal(at) {
		t.Errorf("expiresAt: %v", c.EnrollmentToken.ExpiresAt)
	}

	for name, req := range map[string]any{
		"no name":      enrollCreate{TTL: "1h"},
		"both":         enrollCreate{Name: "x", TTL: "1h", ExpiresAt: &at},
		"past":         enrollCreate{Name: "x", ExpiresAt: ptr(e.clock.Now().Add(-time.Minute))},
		"negative use": enrollCreate{Name: "x", MaxUses: -1},
		"bad label":    enrollCreate{Name: "x", Labels: map[string]string{"bad key!": "v"}},
		"long label":   enrollCreate{Name: "x", Labels: map[string]string{"k": strings.Repeat("v", 256)}},
		"unknown":      `{"name":"x","uses":3}`,
	} {
		if w := e.do("POST", "/api/v1/enrollment-tokens", admin, req); w.Code != 400 {
			t.Errorf("%s: %d %s", name, w.Code, w.Body.String())
		}
	}
}
