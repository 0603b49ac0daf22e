package api

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzAcceptFindings sends arbitrary bodies to POST /findings/accept: the
// answer is always 200 for a valid request or a JSON 4xx error, never a
// 5xx, and a 200 only follows a request that passes validation.
func FuzzAcceptFindings(f *testing.F) {
	e := newEnv(f)
	_, fs := e.seedAgent("a1")
	tok := e.session(e.analyst)
	future := e.clock.Now().Add(time.Hour).Format(time.RFC3339)
	for _, s := range []string{
		`{"ids":["` + fs[0].ID + `"],"reason":"r","expires":"` + future + `"}`,
		`{"ids":[],"reason":"","expires":"2000-01-01T00:00:00Z"}`,
		`{"ids":["a","b"],"reason":"r","expires":"` + future + `","x":1}`,
		`{"ids":null}`, `null`, `[]`, `"x"`, `{}`, ``, `{"ids":[1]}`, `{"reason":"\u0000"}`,
		`{"ids":["a"]} {"ids":["b"]}`, `{"expires":"9999-12-31T23:59:59Z"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/api/v1/findings/accept", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, req)
		switch {
		case w.Code == 200:
			var req acceptRequest
			if err := decodeJSON(strings.NewReader(body), &req); err != nil {
				t.Fatalf("200 for a body that does not decode: %v", err)
			}
			if err := req.validate(e.clock.Now()); err != nil {
				t.Fatalf("200 for an invalid request: %v", err)
			}
			var resp acceptResponse
			if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || resp.Accepted < 0 || resp.Accepted > len(req.IDs) {
				t.Fatalf("response %s", w.Body.String())
			}
		case w.Code >= 400 && w.Code < 500:
			errCode(t, w)
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body.String())
		}
	})
}
