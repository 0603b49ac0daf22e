package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/api"
	"github.com/vigil-sec/vigil/internal/console"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestSeedMeasureReport runs the benchmark end to end at a tiny size: the
// seed, its reuse from the cache, every page and API call against the
// server's HTTP stack (the API and the console mounted as internal/server
// mounts them) on the seeded store, and the report.
func TestSeedMeasureReport(t *testing.T) {
	ctx := context.Background()
	cache := t.TempDir()
	sizes := []string{"-assets", "150", "-agents", "8", "-images", "30", "-findings", "1200", "-vulns", "200", "-events", "400"}
	var out, errb bytes.Buffer
	if err := run(ctx, append([]string{"seed", "-cache", cache}, sizes...), &out, &errb); err != nil {
		t.Fatalf("seed: %v\n%s", err, errb.String())
	}
	dir := strings.TrimSpace(out.String())
	info, err := readSeed(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := info.Counts
	if got := c["findings.vulnerability"]; got != 1200 {
		t.Errorf("vulnerability findings: %d, want 1200", got)
	}
	if sum := c["status.new"] + c["status.open"] + c["status.fixed"] + c["status.accepted"]; sum != 1200 {
		t.Errorf("statuses add up to %d, want 1200 (%v)", sum, c)
	}
	for _, k := range []string{"status.new", "status.open", "status.fixed", "status.accepted", "findings.misconfiguration", "findings.secret", "assetsGone"} {
		if c[k] == 0 {
			t.Errorf("no %s in the seed (%v)", k, c)
		}
	}
	if c["assets.host"] != 8 || c["assets.image"] != 30 || c["assets.container"] != 112 {
		t.Errorf("assets by kind: %v", c)
	}

	// A second seed with the same sizes reuses the cached store.
	out.Reset()
	errb.Reset()
	if err := run(ctx, append([]string{"seed", "-cache", cache}, sizes...), &out, &errb); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != dir || !strings.Contains(errb.String(), "reusing") {
		t.Errorf("second seed: %q (%s), want a reuse of %q", got, errb.String(), dir)
	}

	st, err := store.Open(ctx, filepath.Join(dir, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	apiH := api.New(api.Options{Store: st})
	calls := &recorder{h: apiH}
	mux := http.NewServeMux()
	mux.Handle("/api/", apiH)
	mux.Handle("/healthz", apiH)
	mux.Handle("/", console.New(console.Options{API: calls}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// Each case's API calls are the ones its page makes.
	cl := &client{base: srv.URL, hc: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if err := cl.login(ctx, info.AdminName, info.AdminPassword); err != nil {
		t.Fatal(err)
	}
	day, _ := time.Parse(time.DateOnly, info.BaseDay)
	p, err := cl.picks(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	for _, cs := range cases(p) {
		if cs.Next {
			continue
		}
		calls.reset()
		if _, status, err := cl.get(ctx, &target{Kind: "page", Path: cs.Path}); err != nil || status != http.StatusOK {
			t.Errorf("%s: status %d, %v", cs.Path, status, err)
			continue
		}
		var got []string
		for _, u := range calls.take() {
			if u == "/api/v1/me" || (cs.Group == "vulnerability" && strings.HasPrefix(u, "/api/v1/findings/f-")) {
				continue
			}
			got = append(got, u)
		}
		if len(got) != len(cs.API) {
			t.Errorf("%s: the page calls %q, the case says %q", cs.Path, got, cs.API)
			continue
		}
		for i := range got {
			if !sameCall(got[i], cs.API[i]) {
				t.Errorf("%s: call %d is %q, the case says %q", cs.Path, i, got[i], cs.API[i])
			}
		}
	}

	runDir := t.TempDir()
	errb.Reset()
	if err := run(ctx, []string{"measure", "-url", srv.URL, "-seed", dir, "-out", filepath.Join(runDir, "measure.json"), "-n", "2"}, &out, &errb); err != nil {
		t.Fatalf("measure: %v\n%s", err, errb.String())
	}
	b, err := os.ReadFile(filepath.Join(runDir, "measure.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m runInfo
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	pages := 0
	for _, tg := range m.Targets {
		if tg.Kind == "page" {
			pages++
		}
		if tg.Errors > 0 || tg.Status != http.StatusOK || len(tg.Millis) != 2 {
			t.Errorf("%s %s: status %d, %d errors, %d samples", tg.Kind, tg.Path, tg.Status, tg.Errors, len(tg.Millis))
		}
	}
	next := map[string]bool{}
	for _, cs := range cases(m.Picks) {
		if cs.Next {
			next["page "+cs.Path] = true
			for _, a := range cs.API {
				next["api "+a] = true
			}
		}
	}
	skippedPages := 0
	for _, s := range m.Skipped {
		if !next[s] {
			t.Errorf("skipped %q, which is not the next page of a list", s)
		}
		if strings.HasPrefix(s, "page ") {
			skippedPages++
		}
	}
	if pages+skippedPages != len(cases(m.Picks)) {
		t.Errorf("%d pages measured and %d skipped, want %d", pages, skippedPages, len(cases(m.Picks)))
	}

	env := "vigil\ttest\ngo\tgo\nstartSeconds\t0.1\nstore\t1MB file\n"
	if err := os.WriteFile(filepath.Join(runDir, "env.tsv"), []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(runDir, "CONSOLE.md")
	if err := run(ctx, []string{"report", "-seed", dir, "-run", runDir, "-out", report}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Console pages", "## API calls", "| overview | overview | `/` |", "/api/v1/overview", "## Notes"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	for _, tc := range []struct{ p, want float64 }{{50, 5}, {95, 10}, {90, 9}, {100, 10}, {10, 1}} {
		if got := pct(xs, tc.p); got != tc.want {
			t.Errorf("p%v = %v, want %v", tc.p, got, tc.want)
		}
	}
	if pct(nil, 95) != 0 {
		t.Error("p95 of nothing")
	}
}

// recorder records the API calls the console makes.
type recorder struct {
	h    http.Handler
	mu   sync.Mutex
	uris []string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.uris = append(r.uris, req.URL.RequestURI())
	r.mu.Unlock()
	r.h.ServeHTTP(w, req)
}

func (r *recorder) reset() { r.take() }

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	u := r.uris
	r.uris = nil
	return u
}

// sameCall compares two request URIs: the same path and query values in
// any order.
func sameCall(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	if err1 != nil || err2 != nil || ua.Path != ub.Path {
		return false
	}
	return ua.Query().Encode() == ub.Query().Encode()
}
