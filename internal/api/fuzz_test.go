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

// FuzzScanUpload sends arbitrary bodies to POST /scans: a 200 only for an
// upload that decodes and validates, whose counts add up; otherwise a JSON
// 4xx, never a 5xx.
func FuzzScanUpload(f *testing.F) {
	e := newEnv(f)
	tok := e.session(e.analyst)
	for _, s := range []string{
		`{"asset":{"name":"git.example/infra"},"kind":"misconfiguration","findings":[{"id":"a","ruleId":"R","severity":"high","title":"t"}]}`,
		`{"asset":{"name":"x","labels":{"environment":"prod"}},"kind":"secret","findings":[]}`,
		`{"asset":{"name":"x"},"kind":"secret","findings":[{"id":"a","ruleId":"R","data":{"k":[1,2]}}]}`,
		`{"asset":{"name":""},"kind":"secret"}`, `{"asset":{"name":"x"},"kind":"vulnerability"}`,
		`{"asset":{"name":"x"},"kind":"secret","findings":[{"id":"a","ruleId":"R","severity":"CRITICAL"},{"id":"a","ruleId":"S"}]}`,
		`{"asset":{"name":"x"},"kind":"secret","findings":[{"id":"a","ruleId":"R","data":"not an object"}]}`,
		`null`, `{}`, `[]`, ``, `{"asset":{"name":"\u0000"}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/api/v1/scans", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, req)
		switch {
		case w.Code == 200:
			var up scanUpload
			if err := decodeJSON(strings.NewReader(body), &up); err != nil {
				t.Fatalf("200 for a body that does not decode: %v", err)
			}
			if err := up.validate(); err != nil {
				t.Fatalf("200 for an invalid upload: %v", err)
			}
			var res scanResult
			if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || res.AssetID != RepositoryID(up.Asset.Name) ||
				res.New+res.Reopened+res.Unchanged > len(up.Findings) {
				t.Fatalf("response %s for %d findings", w.Body.String(), len(up.Findings))
			}
		case w.Code >= 400 && w.Code < 500:
			errCode(t, w)
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body.String())
		}
	})
}
