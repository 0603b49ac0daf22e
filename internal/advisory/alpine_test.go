package advisory

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func alpineAdv(id, eco, pkg string, aliases []string, fixes ...string) Advisory {
	a := Advisory{ID: id, Source: "alpine", Aliases: aliases, Affected: []Affected{{Ecosystem: eco, Package: pkg}}}
	for _, f := range fixes {
		a.Affected[0].Ranges = append(a.Affected[0].Ranges, ecosystem(intro("0"), fixed(f)))
	}
	return a
}

func parseSecDB(t *testing.T, path string) ([]Advisory, []error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []Advisory
	var errs []error
	err = ParseAlpineSecDB(f, filepath.Base(path), func(a Advisory, err error) error {
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		got = append(got, a)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, errs
}

func find(as []Advisory, id, pkg string) (Advisory, bool) {
	for _, a := range as {
		if a.ID == id && a.Affected[0].Package == pkg {
			return a, true
		}
	}
	return Advisory{}, false
}

func TestParseAlpineSecDB(t *testing.T) {
	for _, tc := range []struct {
		file   string
		count  int
		want   []Advisory
		absent []string // origin packages that yield nothing
	}{
		{
			file:  "v3.9-main.yaml",
			count: 7 + 42 + 115, // ansible, tcpdump, xen entries: no identifier repeats within a package
			want: []Advisory{
				alpineAdv("CVE-2019-10206", "Alpine:v3.9", "ansible", nil, "2.7.13-r0"),
				alpineAdv("CVE-2018-16859", "Alpine:v3.9", "ansible", nil, "2.7.3-r0"),
				alpineAdv("XSA-207", "Alpine:v3.9", "xen", nil, "4.7.1-r5"),
				alpineAdv("CVE-2017-8904", "Alpine:v3.9", "xen", []string{"XSA-214"}, "4.8.1-r2"),
				alpineAdv("XSA-284", "Alpine:v3.9", "xen", nil, "4.11.2-r0"),
			},
		},
		{
			// db's "0" entries: never affected.
			file:   "v3.8-main.yaml",
			want:   []Advisory{alpineAdv("CVE-2017-16544", "Alpine:v3.8", "busybox", nil, "1.27.2-r4")},
			absent: []string{"db"},
		},
		{
			// A CVE fixed on two branches: one advisory, two ranges.
			file: "v3.10-community.yaml",
			want: []Advisory{
				alpineAdv("CVE-2017-15191", "Alpine:v3.10", "wireshark", nil, "2.4.2-r0", "2.2.10-r0"),
				alpineAdv("CVE-2019-16319", "Alpine:v3.10", "wireshark", nil, "3.0.4-r0"),
			},
		},
		{
			file: "edge.yaml",
			want: []Advisory{
				alpineAdv("CVE-2017-17434", "Alpine:v3.10", "rsync", nil, "3.1.2-r7"),
				alpineAdv("CVE-2019-2426", "Alpine:v3.10", "mariadb", nil, "10.3.13-r0"),
				alpineAdv("CVE-2019-15167", "Alpine:v3.10", "tcpdump", nil, "4.9.3-r0"),
				alpineAdv("CVE-2018-16301", "Alpine:v3.10", "tcpdump", nil, "4.9.3-r0"),
				alpineAdv("XSA-284", "Alpine:v3.10", "xen", nil, "4.11.2-r0"),
				alpineAdv("CVE-2018-12127", "Alpine:v3.10", "xen", []string{"XSA-297"}, "4.11.2-r0"),
				alpineAdv("CVE-2019-5747", "Alpine:v3.10", "busybox", nil, "1.29.3-r10", "1.30.1-r2", "1.30.1-r3"),
				alpineAdv("CVE-2018-16859", "Alpine:v3.10", "ansible", nil, "2.7.3-r0"),
				// An unquoted 1.10 stays "1.10".
				alpineAdv("CVE-2015-6240", "Alpine:v3.10", "ansible", nil, "1.10"),
				alpineAdv("CVE-2018-1000156", "Alpine:v3.10", "patch", nil, "2.7.5-r3"),
			},
			absent: []string{"db", "empty"},
			count:  13,
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, errs := parseSecDB(t, filepath.Join("testdata", "alpine", tc.file))
			if tc.file == "edge.yaml" {
				if len(errs) != 1 || !errors.Is(errs[0], ErrFormat) || !strings.Contains(errs[0].Error(), "to be assigned") {
					t.Errorf("errors %v, want one for the entry without identifier", errs)
				}
			} else if errs != nil {
				t.Errorf("errors %v", errs)
			}
			if tc.count != 0 && len(got) != tc.count {
				t.Errorf("%d advisories, want %d", len(got), tc.count)
			}
			for _, w := range tc.want {
				g, ok := find(got, w.ID, w.Affected[0].Package)
				if !ok {
					t.Errorf("no %s for %s", w.ID, w.Affected[0].Package)
					continue
				}
				if diff := cmp.Diff(w, g); diff != "" {
					t.Errorf("%s mismatch (-want +got):\n%s", w.ID, diff)
				}
			}
			for _, a := range got {
				for _, p := range tc.absent {
					if a.Affected[0].Package == p {
						t.Errorf("%s: advisory %s for %s", tc.file, a.ID, p)
					}
				}
			}
		})
	}
}

// TestParseAlpineSecDBJSON checks that the JSON form gives what the YAML
// form gives.
func TestParseAlpineSecDBJSON(t *testing.T) {
	fromYAML, errs := parseSecDB(t, "testdata/alpine/v3.10-community.yaml")
	if errs != nil {
		t.Fatal(errs)
	}
	fromJSON, errs := parseSecDB(t, "testdata/alpine/v3.10-community.json")
	if errs != nil {
		t.Fatal(errs)
	}
	// secfixes keeps the key order of both syntaxes, so even the order of
	// the advisories is the same.
	if diff := cmp.Diff(fromYAML, fromJSON); diff != "" {
		t.Errorf("JSON and YAML differ (-yaml +json):\n%s", diff)
	}
	if len(fromJSON) == 0 {
		t.Error("no advisories")
	}
}

func TestParseAlpineSecDBErrors(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       error
	}{
		{"no-release.yaml", "packages: []\n", ErrFormat},
		{"bad.yaml", "distroversion: [\n", ErrFormat},
		{"bad.json", `{"distroversion": "v3.11", "packages": [`, ErrFormat},
		{"type.json", `{"distroversion": "v3.11", "packages": [{"pkg": {"name": "a", "secfixes": {"1.0-r0": [1]}}}]}`, ErrFormat},
		{"secfixes.json", `{"distroversion": "v3.11", "packages": [{"pkg": {"name": "a", "secfixes": []}}]}`, ErrFormat},
		{"laughs.yaml", "distroversion: v3.11\n" + strings.TrimPrefix(billionLaughs(), "id: X\n"), ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ParseAlpineSecDB(strings.NewReader(tc.data), tc.name, func(Advisory, error) error { return nil })
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}

	// A package without a name goes to fn; the rest still loads.
	var errs []error
	n := 0
	err := ParseAlpineSecDB(strings.NewReader(`{"distroversion": "3.11", "packages": [{"pkg": {"secfixes": {"1-r0": ["CVE-2020-0001"]}}}, {"pkg": {"name": "b", "secfixes": {"1-r0": ["CVE-2020-0002", null]}}}]}`), "x", func(a Advisory, err error) error {
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		n++
		if a.Affected[0].Ecosystem != "Alpine:v3.11" {
			t.Errorf("ecosystem %q", a.Affected[0].Ecosystem)
		}
		return nil
	})
	if err != nil || n != 1 || len(errs) != 1 || !errors.Is(errs[0], ErrFormat) {
		t.Errorf("err %v, %d advisories, errors %v", err, n, errs)
	}

	stop := errors.New("stop")
	err = ParseAlpineSecDB(strings.NewReader("distroversion: v3.11\npackages:\n- pkg: {name: a, secfixes: {1-r0: [CVE-2020-0001, CVE-2020-0002]}}\n"), "x.yaml",
		func(Advisory, error) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("err = %v, want the callback's", err)
	}
}
