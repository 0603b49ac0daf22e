package console

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseList(t *testing.T) {
	for _, tc := range []struct {
		name    string
		spec    *listSpec
		query   string
		api     string // the API query, encoded
		dropped []string
	}{
		{"defaults", findingsSpec, "", "limit=50&order=desc&sort=risk", nil},
		{"filters", findingsSpec, "kind=secret&severity=critical&severity=high,low&status=open&min_risk=07.50&package=openssl",
			"kind=secret&limit=50&min_risk=7.5&order=desc&package=openssl&severity=critical%2Chigh%2Clow&sort=risk&status=open", nil},
		{"multi keeps the spec's order and drops duplicates", findingsSpec, "severity=low,critical,low",
			"limit=50&order=desc&severity=critical%2Clow&sort=risk", nil},
		{"invalid values dropped", findingsSpec, "kind=nope&severity=catastrophic&min_risk=101&sort=evil&order=up&limit=7&cursor=a%20b",
			"limit=50&order=desc&sort=risk", []string{"kind", "severity", "min_risk", "sort", "order", "limit", "cursor"}},
		{"NaN risk", findingsSpec, "min_risk=NaN", "limit=50&order=desc&sort=risk", []string{"min_risk"}},
		{"unknown parameters ignored", assetsSpec, "tab=x&foo=bar", "limit=50&order=asc&sort=name", nil},
		{"repeated text parameter", assetsSpec, "name=a&name=b", "limit=50&name=a&order=asc&sort=name", []string{"name"}},
		{"control characters", assetsSpec, "name=a%00b", "limit=50&order=asc&sort=name", []string{"name"}},
		{"too long", assetsSpec, "name=" + strings.Repeat("x", 201), "limit=50&order=asc&sort=name", []string{"name"}},
		{"sort, order, limit, cursor", assetsSpec, "sort=risk&order=desc&limit=200&cursor=eyJsIjoiYXNzZXRzIn0",
			"cursor=eyJsIjoiYXNzZXRzIn0&limit=200&order=desc&sort=risk", nil},
		{"dates", eventsSpec, "since=2026-11-01&until=2026-11-02",
			"limit=50&order=desc&since=2026-11-01T00%3A00%3A00Z&sort=time&until=2026-11-03T00%3A00%3A00Z", nil},
		{"bad date", eventsSpec, "since=2026-13-01", "limit=50&order=desc&sort=time", []string{"since"}},
		{"api name", eventsSpec, "kind=process.exec", "kind=process.exec&limit=50&order=desc&sort=time", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			lq := parseList(tc.spec, q)
			if got := lq.api().Encode(); got != tc.api {
				t.Errorf("api query\n got %s\nwant %s", got, tc.api)
			}
			if !slices.Equal(lq.Dropped, tc.dropped) {
				t.Errorf("dropped %v, want %v", lq.Dropped, tc.dropped)
			}
		})
	}
}

func TestListLinks(t *testing.T) {
	q, _ := url.ParseQuery("kind=host&sort=risk&limit=25&cursor=abc")
	lq := parseList(assetsSpec, q)
	if got, want := lq.link("/assets", "next1", nil), "/assets?cursor=next1&kind=host&limit=25&sort=risk"; got != want {
		t.Errorf("next link %q, want %q", got, want)
	}
	if got, want := lq.link("/assets", "", nil), "/assets?kind=host&limit=25&sort=risk"; got != want {
		t.Errorf("first link %q, want %q", got, want)
	}
	if got, want := parseList(assetsSpec, nil).link("/assets", "", url.Values{"tab": {"port"}}), "/assets?tab=port"; got != want {
		t.Errorf("link with extra %q, want %q", got, want)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                         "/",
		"/":                        "/",
		"/assets?kind=host":        "/assets?kind=host",
		"/vulnerabilities/CVE-1#x": "/vulnerabilities/CVE-1#x",
		"//evil.example/":          "/",
		"/\\evil.example":          "/",
		"https://evil.example/":    "/",
		"javascript:alert(1)":      "/",
		"/\tevil":                  "/",
		"assets":                   "/",
		"/a b":                     "/",
		"/%2F%2Fevil":              "/", // decodes to //evil
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseLabels(t *testing.T) {
	got, ok := parseLabels("env=prod\n\n team = shop \r\nempty=")
	if !ok || len(got) != 3 || got["env"] != "prod" || got["team"] != "shop" || got["empty"] != "" {
		t.Errorf("parseLabels = %v, %v", got, ok)
	}
	for _, bad := range []string{"novalue", "=x", strings.Repeat("k", 64) + "=v", "k=" + strings.Repeat("v", 201), "k=\x01"} {
		if _, ok := parseLabels(bad); ok {
			t.Errorf("parseLabels(%q) accepted", bad)
		}
	}
	var many strings.Builder
	for i := range 33 {
		many.WriteString("k" + strings.Repeat("x", i) + "=v\n")
	}
	if _, ok := parseLabels(many.String()); ok {
		t.Error("33 labels accepted")
	}
}

func TestParseAccept(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	a, problem := parseAccept(form("id", "f1", "id", "f2", "reason", " false positive\r\nsee ticket ", "expires", "2026-12-31"), now)
	if problem != "" || !slices.Equal(a.IDs, []string{"f1", "f2"}) || a.Reason != "false positive\r\nsee ticket" ||
		!a.Expires.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("parseAccept = %+v, %q", a, problem)
	}
	for _, tc := range []struct {
		form url.Values
		want string
	}{
		{form("reason", "r", "expires", "2026-12-31"), "accept.noneSelected"},
		{form("id", "f1", "expires", "2026-12-31"), "accept.badReason"},
		{form("id", "f1", "reason", strings.Repeat("r", 2001), "expires", "2026-12-31"), "accept.badReason"},
		{form("id", "f1", "reason", "r", "expires", "2026-11-23"), "accept.badDate"},
		{form("id", "f1", "reason", "r", "expires", "2035-01-01"), "accept.badDate"},
		{form("id", "f1", "reason", "r", "expires", "soon"), "accept.badDate"},
		{form("id", "", "reason", "r", "expires", "2026-12-31"), "accept.badID"},
		{form("id", "f\x00", "reason", "r", "expires", "2026-12-31"), "accept.badID"},
	} {
		if _, got := parseAccept(tc.form, now); got != tc.want {
			t.Errorf("parseAccept(%v) problem %q, want %q", tc.form, got, tc.want)
		}
	}
	// Today is still acceptable: the acceptance lapses at its end.
	if _, p := parseAccept(form("id", "f1", "reason", "r", "expires", "2026-11-24"), now); p != "" {
		t.Errorf("today refused: %s", p)
	}
}

var fuzzSpecs = []*listSpec{assetsSpec, findingsSpec, eventsSpec, agentsSpec, vulnsSpec, auditSpec}

// FuzzParseList checks that any query string yields only the spec's
// parameters with valid values, and that the page's own links read back
// to the same query.
func FuzzParseList(f *testing.F) {
	for _, s := range []string{"", "kind=host&name=web", "severity=critical,high&status=open", "min_risk=1e3", "since=2026-02-30",
		"sort=risk&order=desc&limit=100&cursor=abc_-", "name=%ff%fe", "cursor=" + strings.Repeat("A", 3000), "label=env%3Dprod&gone=true"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		for _, spec := range fuzzSpecs {
			lq := parseList(spec, q)
			api := lq.api()
			allowed := []string{"sort", "order", "limit", "cursor"}
			for _, fd := range spec.fields {
				allowed = append(allowed, fd.name)
			}
			for k, vs := range api {
				if !slices.Contains(allowed, k) {
					t.Fatalf("API parameter %q not in the spec", k)
				}
				if len(vs) != 1 || !utf8.ValidString(vs[0]) || len(vs[0]) > maxCursor {
					t.Fatalf("API parameter %q = %q", k, vs)
				}
			}
			if !slices.Contains(spec.sorts, api.Get("sort")) || !slices.Contains(limits, lq.Limit) {
				t.Fatalf("sort %q limit %d", api.Get("sort"), lq.Limit)
			}
			for _, fd := range spec.fields {
				if fd.kind == fEnum && lq.Values[fd.name] != "" && !slices.Contains(fd.values, lq.Values[fd.name]) {
					t.Fatalf("enum %s = %q", fd.name, lq.Values[fd.name])
				}
			}
			// Round trip: the next-page link reads back to the same query.
			u, err := url.Parse(lq.link("/x", lq.Cursor, nil))
			if err != nil {
				t.Fatal(err)
			}
			again := parseList(spec, u.Query())
			if got, want := again.api().Encode(), api.Encode(); got != want {
				t.Fatalf("round trip\n got %s\nwant %s", got, want)
			}
			if len(again.Dropped) != 0 {
				t.Fatalf("own link drops %v", again.Dropped)
			}
		}
	})
}

func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "//x", "/\\x", "http://x", "/a?b#c", "/%00", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := safeNext(s)
		if got != "/" && got != s {
			t.Fatalf("safeNext(%q) = %q", s, got)
		}
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\t\r\n ") {
			t.Fatalf("safeNext(%q) = %q leaves the site", s, got)
		}
	})
}

func FuzzParseLabels(f *testing.F) {
	for _, s := range []string{"a=b", "a=b\nc=d", "=", "a", "a=b=c\n\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, ok := parseLabels(s)
		if !ok {
			return
		}
		if len(m) > maxFormLabels {
			t.Fatalf("%d labels", len(m))
		}
		for k, v := range m {
			if k == "" || len(k) > maxLabelKey || len(v) > maxLabelValue || !validText(k) || !validText(v) {
				t.Fatalf("label %q=%q", k, v)
			}
		}
	})
}

func FuzzParseAccept(f *testing.F) {
	f.Add("id=f1&id=f2&reason=ok&expires=2026-12-31")
	f.Add("id=&reason=&expires=")
	f.Add("id=%ff&reason=%0a&expires=9999-12-31")
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw string) {
		form, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		a, problem := parseAccept(form, now)
		if problem != "" {
			if !has(problem) {
				t.Fatalf("problem %q has no message", problem)
			}
			return
		}
		if len(a.IDs) == 0 || len(a.IDs) > maxAcceptIDs || a.Reason == "" || len(a.Reason) > maxAcceptReason || !a.Expires.After(now) {
			t.Fatalf("accepted %+v", a)
		}
	})
}
