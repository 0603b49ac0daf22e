package api

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRequestBodies(t *testing.T) {
	e := newEnv(t)
	tok := e.session(e.admin)
	big := `{"name":"` + strings.Repeat("a", maxBody) + `"}`
	for name, tc := range map[string]struct {
		body, contentType string
		status            int
		code              string
	}{
		"too large":      {big, "application/json", 413, codeTooLarge},
		"form":           {`name=x`, "application/x-www-form-urlencoded", 415, codeMediaType},
		"bad media type": {`{}`, "application/json; charset", 415, codeMediaType},
		"unknown field":  {`{"name":"x","ttl":"1h","admin":true}`, "application/json", 400, codeInvalidJSON},
		"trailing":       {`{"name":"x"} []`, "application/json", 400, codeInvalidJSON},
		"empty":          {``, "application/json", 400, codeInvalidJSON},
		"truncated":      {`{"name":`, "application/json", 400, codeInvalidJSON},
		"charset ok":     {`{"name":"x"}`, "application/json; charset=utf-8", 201, ""},
		"no type ok":     {`{"name":"y"}`, "", 201, ""},
	} {
		t.Run(name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/api/v1/enrollment-tokens", strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+tok)
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			w := httptest.NewRecorder()
			e.srv.ServeHTTP(w, req)
			if w.Code != tc.status {
				t.Fatalf("status %d; want %d: %.200s", w.Code, tc.status, w.Body.String())
			}
			if tc.code != "" && errCode(t, w) != tc.code {
				t.Errorf("code %s; want %s", errCode(t, w), tc.code)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Error("response may be cached")
			}
		})
	}
}
