package advisory

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func semver(events ...Event) Range    { return Range{Type: SemVer, Events: events} }
func ecosystem(events ...Event) Range { return Range{Type: Ecosystem, Events: events} }
func intro(v string) Event            { return Event{Introduced: v} }
func fixed(v string) Event            { return Event{Fixed: v} }

func parseFile(t *testing.T, path string) Advisory {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := ParseOSV(f, filepath.Base(path))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestParseOSV(t *testing.T) {
	for _, tc := range []struct {
		file string
		want Advisory
		// detailsPrefix, when set, replaces comparing long Details.
		detailsPrefix string
	}{
		{
			// Go: symbols of one import.
			file: "GO-2020-0001.json",
			want: Advisory{
				ID:        "GO-2020-0001",
				Source:    "osv",
				Aliases:   []string{"CVE-2020-36567", "GHSA-6vm3-jj99-7229"},
				Summary:   "Arbitrary log line injection in github.com/gin-gonic/gin",
				Details:   "The default Formatter for the Logger middleware (LoggerConfig.Formatter), which is included in the Default engine, allows attackers to inject arbitrary log entries by manipulating the request path.",
				Published: date("2021-04-14T20:04:52Z"),
				References: []string{
					"https://github.com/gin-gonic/gin/pull/2237",
					"https://github.com/gin-gonic/gin/commit/a71af9c144f9579f6dbe945341c1df37aaf09c0d",
				},
				Affected: []Affected{{
					Ecosystem: "Go",
					Package:   "github.com/gin-gonic/gin",
					Ranges:    []Range{semver(intro("0"), fixed("1.6.0"))},
					Symbols: []string{
						"github.com/gin-gonic/gin.Default",
						"github.com/gin-gonic/gin.Logger",
						"github.com/gin-gonic/gin.LoggerWithConfig",
						"github.com/gin-gonic/gin.LoggerWithFormatter",
						"github.com/gin-gonic/gin.LoggerWithWriter",
					},
				}},
			},
		},
		{
			// Go: an import without symbols (whole package), no fix.
			file: "GO-2020-0040.json",
			want: Advisory{
				ID:         "GO-2020-0040",
				Source:     "osv",
				Aliases:    []string{"CVE-2020-36562", "GHSA-p6fg-723f-hgpw"},
				Summary:    "Uncontrolled Resource Consumption in github.com/shiyanhui/dht",
				Details:    "Due to unchecked type assertions, maliciously crafted messages can cause panics, which may be used as a denial of service vector.",
				Published:  date("2021-04-14T20:04:52Z"),
				References: []string{"https://github.com/shiyanhui/dht/issues/57"},
				Affected: []Affected{{
					Ecosystem: "Go",
					Package:   "github.com/shiyanhui/dht",
					Ranges:    []Range{semver(intro("0"))},
					Symbols:   []string{"github.com/shiyanhui/dht"},
				}},
			},
		},
		{
			// Go standard library: a whole package and a symbol, goos
			// restrictions dropped, two introduced/fixed pairs.
			file: "GO-2022-0220.json",
			want: Advisory{
				ID:        "GO-2022-0220",
				Source:    "osv",
				Aliases:   []string{"CVE-2019-9634"},
				Summary:   "DLL injection on Windows in runtime and syscall",
				Details:   "Go on Windows misused certain LoadLibrary functionality, leading to DLL injection.",
				Published: date("2022-05-25T18:01:46Z"),
				References: []string{
					"https://go.dev/cl/165798",
					"https://go.googlesource.com/go/+/9b6e9f0c8c66355c0f0575d808b32f52c8c6d21c",
					"https://go.dev/issue/28978",
					"https://groups.google.com/g/golang-announce/c/z9eTD34GEIs/m/Z_XmhTrVAwAJ",
				},
				Affected: []Affected{{
					Ecosystem: "Go",
					Package:   "stdlib",
					Ranges:    []Range{semver(intro("0"), fixed("1.11.10"), intro("1.12.0-0"), fixed("1.12.2"))},
					Symbols:   []string{"runtime", "syscall.LoadDLL"},
				}},
			},
		},
		{
			// PyPI YAML: GIT and ECOSYSTEM ranges, enumerated versions.
			file:          "PYSEC-2021-335.yaml",
			detailsPrefix: "The module `AccessControl` defines security policies",
			want: Advisory{
				ID:        "PYSEC-2021-335",
				Source:    "osv",
				Aliases:   []string{"CVE-2021-32807", "GHSA-qcx9-j53g-ccgf"},
				Published: date("2021-07-30T22:15:00Z"),
				Modified:  date("2021-09-26T23:32:08.989778Z"),
				References: []string{
					"https://github.com/zopefoundation/AccessControl/blob/master/CHANGES.rst#51-2021-07-30",
					"https://github.com/zopefoundation/AccessControl/commit/b42dd4badf803bb9fb71ac34cd9cb0c249262f2c",
					"https://github.com/zopefoundation/AccessControl/security/advisories/GHSA-qcx9-j53g-ccgf",
				},
				Affected: []Affected{{
					Ecosystem: "PyPI",
					Package:   "accesscontrol",
					Ranges: []Range{
						{Type: Git, Events: []Event{intro("0"), fixed("b42dd4badf803bb9fb71ac34cd9cb0c249262f2c")}},
						ecosystem(intro("4.0"), fixed("4.3"), intro("5.0"), fixed("5.2")),
					},
					Versions: []string{"4.0", "4.1", "4.2", "5.0", "5.1"},
				}},
			},
		},
		{
			// Fields the shared data lacks (a record written for this test).
			file: "GHSA-vigil-test-0001.json",
			want: Advisory{
				ID:         "GHSA-vigil-test-0001",
				Source:     "osv",
				Aliases:    []string{"CVE-2024-99999"},
				Upstream:   []string{"CVE-2024-99998"},
				Summary:    "Synthetic record exercising fields the shared data lacks",
				Details:    "Written for Vigil's tests: affected-level severity, database_specific.severity, a future field, an event object with two fields and an unknown range type.",
				Published:  date("2024-04-30T09:30:00.123Z"),
				Modified:   date("2024-05-01T10:00:00Z"),
				Severity:   []Severity{{Type: CVSSv3, Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}},
				References: []string{"https://example.com/advisory", "https://example.com/other"},
				Affected: []Affected{
					{
						Ecosystem: "npm",
						Package:   "left-pad-ng",
						Ranges:    []Range{semver(intro("1.0.0"), fixed("1.2.3"))},
						Severity:  "medium",
					},
					{
						Ecosystem: "Maven",
						Package:   "org.example:demo",
						Ranges:    []Range{ecosystem(intro("0"), Event{LastAffected: "2.0"}, intro("3.0"), Event{Limit: "3.5"})},
						Severity:  "low",
					},
				},
			},
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got := parseFile(t, filepath.Join("testdata", "osv", tc.file))
			if tc.detailsPrefix != "" {
				if !strings.HasPrefix(got.Details, tc.detailsPrefix) {
					t.Errorf("details %.60q, want prefix %q", got.Details, tc.detailsPrefix)
				}
				tc.want.Details = got.Details
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseOSV(%s) mismatch (-want +got):\n%s", tc.file, diff)
			}
		})
	}
}

func TestParseOSVFields(t *testing.T) {
	for _, tc := range []struct {
		file  string
		check func(Advisory) error
	}{
		{"GO-2022-0617.json", func(a Advisory) error {
			if !a.Withdrawn.Equal(date("2024-08-21T16:25:56Z")) {
				return fmt.Errorf("withdrawn %v", a.Withdrawn)
			}
			return nil
		}},
		{"RUSTSEC-2016-0001.json", func(a Advisory) error {
			want := []Severity{{CVSSv3, "CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H"}}
			if !cmp.Equal(a.Severity, want) || a.Related != nil {
				return fmt.Errorf("severity %v, related %q", a.Severity, a.Related)
			}
			if got := a.Affected[0].Ranges; !cmp.Equal(got, []Range{semver(intro("0.0.0-0"), fixed("0.9.0"))}) {
				return fmt.Errorf("ranges %+v", got)
			}
			if a.Affected[0].Ecosystem != "crates.io" || a.Affected[0].Package != "openssl" || a.Affected[0].Symbols != nil {
				return fmt.Errorf("affected %+v", a.Affected[0])
			}
			return nil
		}},
		{"RUSTSEC-2026-0024.json", func(a Advisory) error {
			if len(a.Severity) != 1 || a.Severity[0].Type != CVSSv4 || !strings.HasPrefix(a.Severity[0].Vector, "CVSS:4.0/") {
				return fmt.Errorf("severity %v", a.Severity)
			}
			return nil
		}},
		{"PYSEC-2022-42969.yaml", func(a Advisory) error {
			want := []Range{ecosystem(intro("0"), Event{LastAffected: "1.11.0"})}
			if got := a.Affected[0].Ranges; !cmp.Equal(got, want) {
				return fmt.Errorf("ranges %+v", got)
			}
			if v := a.Affected[0].Versions; len(v) != 65 || v[0] != "0.8.0-alpha2" || v[64] != "1.11.0" {
				return fmt.Errorf("versions %q", v)
			}
			return nil
		}},
		{"PYSEC-2023-97.yaml", func(a Advisory) error {
			// Unquoted YAML timestamps stay text until protojson reads them.
			if !a.Modified.Equal(date("2023-07-07T02:41:36.549732Z")) || !a.Published.Equal(date("2023-06-29T21:15:00Z")) {
				return fmt.Errorf("modified %v, published %v", a.Modified, a.Published)
			}
			if got := a.Affected[0].Versions; !cmp.Equal(got, []string{"0.1.0", "0.1.1"}) {
				return fmt.Errorf("versions %q", got)
			}
			return nil
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			if err := tc.check(parseFile(t, filepath.Join("testdata", "osv", tc.file))); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestParseOSVSyntax checks the choice between JSON and YAML.
func TestParseOSVSyntax(t *testing.T) {
	jsonRec := `{"id": "X-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "a"}, "versions": ["1.10"]}]}`
	yamlRec := "id: X-1\naffected:\n- package: {ecosystem: PyPI, name: a}\n  versions: [1.10]\n"
	want := Advisory{ID: "X-1", Source: "osv", Affected: []Affected{{Ecosystem: "PyPI", Package: "a", Versions: []string{"1.10"}}}}
	for _, tc := range []struct {
		name, data string
		ok         bool
	}{
		{"a.json", jsonRec, true},
		{"a.yaml", yamlRec, true},
		{"a.YML", yamlRec, true},
		{"member", jsonRec, true},
		{"member", "\xef\xbb\xbf  \n" + jsonRec, true},
		{"member", yamlRec, true},
		{"a.json", yamlRec, false},
	} {
		got, err := ParseOSV(strings.NewReader(tc.data), tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("%s %.10q: err = %v, want ok %v", tc.name, tc.data, err, tc.ok)
			continue
		}
		if tc.ok && !cmp.Equal(got, want) {
			t.Errorf("%s: %s", tc.name, cmp.Diff(want, got))
		}
	}
}

func TestParseOSVErrors(t *testing.T) {
	deepJSON := `{"id":"X","database_specific":` + strings.Repeat(`{"a":`, 20000) + `1` + strings.Repeat(`}`, 20000) + `}`
	deepYAML := "id: X\ndatabase_specific: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n"
	for _, tc := range []struct {
		name, data string
		want       error
	}{
		{"no-id.json", `{"summary": "x"}`, ErrFormat},
		{"bad.json", `{"id": "X",`, ErrFormat},
		{"trailing.json", `{"id": "X"} {"id": "Y"}`, ErrFormat},
		{"array.json", `[{"id": "X"}]`, ErrFormat},
		{"dup.json", `{"id": "X", "id": "Y"}`, ErrFormat},
		{"type.json", `{"id": ["X"]}`, ErrFormat},
		{"time.json", `{"id": "X", "modified": "yesterday"}`, ErrFormat},
		{"deep.json", deepJSON, ErrFormat},
		{"deep.yaml", deepYAML, ErrFormat},
		{"empty.yaml", "", ErrFormat},
		{"comment.yaml", "# nothing\n", ErrFormat},
		{"two.yaml", "id: X\n---\nid: Y\n", ErrFormat},
		{"dup.yaml", "id: X\nid: Y\n", ErrFormat},
		{"cycle.yaml", "id: X\ndatabase_specific: &a {b: *a}\n", ErrFormat},
		{"key.yaml", "id: X\n? [a]\n: b\n", ErrFormat},
		{"scalar.yaml", "just text\n", ErrFormat},
		{"laughs.yaml", billionLaughs(), ErrTooLarge},
		{"big.json", `{"id": "X", "details": "` + strings.Repeat("a", maxRecord) + `"}`, ErrTooLarge},
		{"values.json", `{"id": "X", "database_specific": {"a": [` + strings.Repeat("1,", maxValues) + `1]}}`, ErrTooLarge},
		{"big.yaml", "id: X\ndetails: " + strings.Repeat("a", maxYAML) + "\n", ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := ParseOSV(strings.NewReader(tc.data), tc.name)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.name) {
				t.Errorf("error %q does not name the record", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// billionLaughs is the classic alias bomb: ten levels of ten aliases each,
// 10^9 leaves once expanded, a few hundred bytes as written.
func billionLaughs() string {
	var b strings.Builder
	b.WriteString("id: X\n")
	b.WriteString("l0: &l0 [lol]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [", i, i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "*l%d", i-1)
		}
		b.WriteString("]\n")
	}
	b.WriteString("database_specific: {bomb: *l9}\n")
	return b.String()
}

// TestYAMLAliasesWithinBudget checks that ordinary aliases still expand.
func TestYAMLAliasesWithinBudget(t *testing.T) {
	rec := "id: X\nx-pkg: &p {ecosystem: PyPI, name: a}\naffected:\n- package: *p\n- package: *p\n"
	a, err := ParseOSV(strings.NewReader(rec), "a.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Affected) != 2 || a.Affected[1].Package != "a" {
		t.Errorf("affected %+v", a.Affected)
	}
}

func TestWalkOSV(t *testing.T) {
	ids := func(fsys fs.FS) ([]string, []error) {
		var got []string
		var errs []error
		err := WalkOSV(fsys, func(a Advisory, err error) error {
			if err != nil {
				errs = append(errs, err)
				return nil
			}
			got = append(got, a.ID)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got, errs
	}

	// The testdata folder, in lexical order.
	got, errs := ids(os.DirFS("testdata/osv"))
	want := []string{
		"GHSA-vigil-test-0001", "GO-2020-0001", "GO-2020-0040", "GO-2022-0220", "GO-2022-0617",
		"PYSEC-2021-335", "PYSEC-2022-42969", "PYSEC-2023-97", "RUSTSEC-2016-0001", "RUSTSEC-2026-0024",
	}
	if !cmp.Equal(got, want) || errs != nil {
		t.Errorf("testdata/osv: got %q, errors %v", got, errs)
	}

	// Nested folders, hidden folders, other files, per-record errors.
	fsys := fstest.MapFS{
		"a/one/A-1.json":               {Data: []byte(`{"id": "A-1"}`)},
		"a/one/A-2.yaml":               {Data: []byte("id: A-2\n")},
		"a/two/B-1.yml":                {Data: []byte("id: B-1\n")},
		"a/two/broken.json":            {Data: []byte(`{"id":`)},
		"a/README.md":                  {Data: []byte("# not a record")},
		".github/workflows/ci.yml":     {Data: []byte("on: push\n")},
		"a/.hidden.json":               {Data: []byte(`{"id": "H-1"}`)},
		"z/Z-1.JSON":                   {Data: []byte(`{"id": "Z-1"}`)},
		"z/deeper/still/deeper/Z-2.js": {Data: []byte(`{"id": "Z-2"}`)},
	}
	got, errs = ids(fsys)
	if want := []string{"A-1", "A-2", "B-1", "Z-1"}; !cmp.Equal(got, want) {
		t.Errorf("MapFS: got %q, want %q", got, want)
	}
	if len(errs) != 1 || !errors.Is(errs[0], ErrFormat) || !strings.Contains(errs[0].Error(), "a/two/broken.json") {
		t.Errorf("MapFS errors: %v", errs)
	}
}

func TestWalkOSVStops(t *testing.T) {
	fsys := fstest.MapFS{}
	for i := range 200 {
		fsys[fmt.Sprintf("X-%03d.json", i)] = &fstest.MapFile{Data: []byte(fmt.Sprintf(`{"id": "X-%03d"}`, i))}
	}
	stop := errors.New("enough")
	var seen []string
	err := WalkOSV(fsys, func(a Advisory, err error) error {
		seen = append(seen, a.ID)
		if len(seen) == 50 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want the callback's", err)
	}
	for i, id := range seen {
		if want := fmt.Sprintf("X-%03d", i); id != want {
			t.Fatalf("record %d is %s, want %s (order must be deterministic)", i, id, want)
		}
	}
	if len(seen) != 50 {
		t.Errorf("%d callbacks after stopping at 50", len(seen))
	}
}

func TestWalkOSVMissingRoot(t *testing.T) {
	err := WalkOSV(os.DirFS("testdata/does-not-exist"), func(Advisory, error) error { return nil })
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want ErrNotExist", err)
	}
}

func TestParseOSVReaderError(t *testing.T) {
	boom := errors.New("boom")
	_, err := ParseOSV(&failingReader{data: []byte(`{"id": `), err: boom}, "r.json")
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want the reader's", err)
	}
}

type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}
