package vuln

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/inventory"
)

// realSource holds the real records of testdata/, parsed by package
// advisory's own parsers.
func realSource(t testing.TB) *memSource {
	t.Helper()
	src := newMemSource(loadOSV(t,
		"GO-2021-0113.json", "GO-2022-0969.json", "GO-2022-1059.json",
		"RUSTSEC-2020-0071.json",
		"PYSEC-2018-49.yaml", "PYSEC-2020-176.yaml", "PYSEC-2020-96.yaml", "PYSEC-2021-142.yaml",
		"GHSA-3pqx-4fqf-j49f.json",
	)...)
	src.add(loadDebian(t)...)
	return src
}

func goBinPkg(name, version string) inventory.Package {
	p := pkg(inventory.Go, name, version)
	p.Extractor = "go/binary"
	p.Locations = []inventory.Location{{Path: "/bin/app"}}
	p.ComputeID()
	return p
}

// TestRealData matches inventory packages at old versions against real
// records and expects exactly the vulnerabilities the records describe;
// at fixed versions, none.
func TestRealData(t *testing.T) {
	src := realSource(t)
	apache := func(v string) inventory.Package { return debPkg("apache2-bin", v, "apache2", v) }
	tests := []struct {
		name    string
		r       *inventory.Result
		want    map[string][]string // package → match IDs
		wantFix map[string]string   // package → PackageFix.FixVersion
	}{
		{
			name:    "Go x/text before both fixes",
			r:       result(nil, goBinPkg("golang.org/x/text", "0.3.6")),
			want:    map[string][]string{"golang.org/x/text": {"CVE-2021-38561", "CVE-2022-32149"}},
			wantFix: map[string]string{"golang.org/x/text": "0.3.8"},
		},
		{
			name: "Go x/text between the fixes",
			r:    result(nil, goBinPkg("golang.org/x/text", "0.3.7")),
			want: map[string][]string{"golang.org/x/text": {"CVE-2022-32149"}},
		},
		{
			name: "Go x/text fixed",
			r:    result(nil, goBinPkg("golang.org/x/text", "0.3.8"), goBinPkg("golang.org/x/text", "0.14.0")),
		},
		{
			name:    "Go x/net pseudo-version before the fix",
			r:       result(nil, goBinPkg("golang.org/x/net", "0.0.0-20220722155237-a158d28d115b")),
			want:    map[string][]string{"golang.org/x/net": {"CVE-2022-27664"}},
			wantFix: map[string]string{"golang.org/x/net": "0.0.0-20220906165146-f3363e06e74c"},
		},
		{
			name: "Go x/net at and after the fix",
			r:    result(nil, goBinPkg("golang.org/x/net", "0.0.0-20220906165146-f3363e06e74c"), goBinPkg("golang.org/x/net", "0.17.0")),
		},
		{
			name:    "Go stdlib 1.18 branch",
			r:       result(nil, goBinPkg("stdlib", "1.18.2")),
			want:    map[string][]string{"stdlib": {"CVE-2022-27664"}},
			wantFix: map[string]string{"stdlib": "1.18.6"},
		},
		{
			name:    "Go stdlib 1.19.0, toolchain spelling",
			r:       result(nil, goBinPkg("stdlib", "go1.19")),
			want:    map[string][]string{"stdlib": {"CVE-2022-27664"}},
			wantFix: map[string]string{"stdlib": "1.19.1"},
		},
		{
			name: "Go stdlib fixed on both branches",
			r:    result(nil, goBinPkg("stdlib", "1.18.6"), goBinPkg("stdlib", "1.19.1"), goBinPkg("stdlib", "1.26.8")),
		},
		{
			name: "crates.io time, first range",
			r:    result(nil, pkg(inventory.Cargo, "time", "0.1.43")),
			want: map[string][]string{"time": {"CVE-2020-26235"}},
			// RustSec lists 0.2.0 as unaffected: the first range closes there.
			wantFix: map[string]string{"time": "0.2.0"},
		},
		{
			name:    "crates.io time, last range",
			r:       result(nil, pkg(inventory.Cargo, "time", "0.2.22")),
			want:    map[string][]string{"time": {"CVE-2020-26235"}},
			wantFix: map[string]string{"time": "0.2.23"},
		},
		{
			name: "crates.io time, unaffected gaps and fixed",
			r:    result(nil, pkg(inventory.Cargo, "time", "0.2.3"), pkg(inventory.Cargo, "time", "0.2.6"), pkg(inventory.Cargo, "time", "0.2.23"), pkg(inventory.Cargo, "time", "0.3.36")),
		},
		{
			name:    "PyPI PyYAML 5.1: GHSA+PYSEC+CVE merged, other PYSECs separate",
			r:       result(nil, pkg(inventory.PyPI, "PyYAML", "5.1")),
			want:    map[string][]string{"PyYAML": {"CVE-2019-20477", "CVE-2020-14343", "CVE-2020-1747"}},
			wantFix: map[string]string{"PyYAML": "5.4"},
		},
		{
			name: "PyPI pyyaml 3.13",
			r:    result(nil, pkg(inventory.PyPI, "pyyaml", "3.13")),
			want: map[string][]string{"pyyaml": {"CVE-2017-18342", "CVE-2020-14343"}},
		},
		{
			name: "PyPI PyYAML fixed",
			r:    result(nil, pkg(inventory.PyPI, "PyYAML", "5.4"), pkg(inventory.PyPI, "PyYAML", "6.0.1")),
		},
		{
			name: "Debian 11 apache2: every CVE of every DSA not yet applied",
			r:    result(debian11, apache("2.4.51-1~deb11u1")),
			want: map[string][]string{"apache2-bin": {
				"CVE-2006-20001", "CVE-2021-44224", "CVE-2021-44790", "CVE-2022-36760",
				"CVE-2022-37436", "CVE-2023-25690", "CVE-2023-27522",
			}},
			wantFix: map[string]string{"apache2-bin": "2.4.56-1~deb11u1"},
		},
		{
			name: "Debian 11 apache2 fixed",
			r:    result(debian11, apache("2.4.56-1~deb11u1"), apache("2.4.56-1~deb11u2")),
		},
		{
			name: "Debian 11 sox: DSA CVEs and the regression update",
			r:    result(debian11, debPkg("libsox3", "14.4.2+git20190427-2", "sox", "14.4.2+git20190427-2")),
			want: map[string][]string{"libsox3": {
				"CVE-2021-23159", "CVE-2021-23172", "CVE-2021-23210", "CVE-2021-33844", "CVE-2021-3643",
				"CVE-2021-40426", "CVE-2022-31650", "CVE-2022-31651", "DSA-5356-2",
			}},
			wantFix: map[string]string{"libsox3": "14.4.2+git20190427-2+deb11u2"},
		},
		{
			name: "Debian source version, not the binNMU binary version, is compared",
			r:    result(debian11, debPkg("libsox3", "14.4.2+git20190427-2+deb11u2+b1", "sox", "14.4.2+git20190427-2+deb11u2")),
		},
		{
			// The lists stop before Debian 12: bullseye lines are not bookworm's.
			name: "Debian 12 asset does not match bullseye-only fix lines",
			r:    result(debian12, apache("2.4.51-1~deb11u1")),
		},
		{
			name: "Ubuntu asset does not match Debian advisories",
			r:    result(ubuntu22, apache("2.4.51-1~deb11u1")),
		},
		{
			name: "Debian 10 apache2 from buster lines",
			r:    result(debian10, apache("2.4.38-3+deb10u5")),
			want: map[string][]string{"apache2-bin": {
				"CVE-2021-34798", "CVE-2021-36160", "CVE-2021-39275", "CVE-2021-40438",
				"CVE-2021-44224", "CVE-2021-44790",
			}},
			wantFix: map[string]string{"apache2-bin": "2.4.38-3+deb10u7"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := find(t, src, tt.r, Options{})
			got := map[string][]string{}
			for _, m := range rep.Matches {
				got[m.Package] = append(got[m.Package], m.ID)
			}
			for k := range got {
				slices.Sort(got[k])
			}
			want := tt.want
			if want == nil {
				want = map[string][]string{}
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("matches (-want +got):\n%s", d)
			}
			for p, fv := range tt.wantFix {
				i := slices.IndexFunc(rep.Fixes, func(f PackageFix) bool { return f.Package == p })
				if i < 0 {
					t.Errorf("no fix for %s", p)
					continue
				}
				if rep.Fixes[i].FixVersion != fv || rep.Fixes[i].Unfixed != 0 {
					t.Errorf("fix for %s = %+v, want %s", p, rep.Fixes[i], fv)
				}
			}
		})
	}
}

// TestRealDataMergedTriple checks the merged PyYAML match in detail: one
// vulnerability, the CVE as ID, both records, the GHSA's CVSS vector
// graded, and the later of the two records' fixes as the fix.
func TestRealDataMergedTriple(t *testing.T) {
	rep := find(t, realSource(t), result(nil, pkg(inventory.PyPI, "PyYAML", "5.1.2")), Options{})
	m := matchOf(t, rep, "PyYAML", "CVE-2019-20477")
	if want := []string{"GHSA-3pqx-4fqf-j49f", "PYSEC-2020-176"}; !slices.Equal(m.Advisories, want) {
		t.Errorf("advisories = %v, want %v", m.Advisories, want)
	}
	if want := []string{"GHSA-3pqx-4fqf-j49f", "PYSEC-2020-176"}; !slices.Equal(m.Aliases, want) {
		t.Errorf("aliases = %v, want %v", m.Aliases, want)
	}
	if m.Severity != finding.SeverityCritical || m.CVSS == nil || m.CVSS.Score != 9.8 || m.CVSS.Version != "3.1" {
		t.Errorf("severity = %v %+v, want critical 9.8 (3.1)", m.Severity, m.CVSS)
	}
	// PYSEC says 5.2b1, GHSA says 5.2: the fix satisfying both is 5.2.
	if want := []string{"5.2b1", "5.2"}; !slices.Equal(m.Fixed, want) || m.FixVersion != "5.2" {
		t.Errorf("fixed = %v / %q, want %v / 5.2", m.Fixed, m.FixVersion, want)
	}
	if !strings.Contains(m.Summary, "PyYAML") {
		t.Errorf("summary = %q", m.Summary)
	}
}

// TestRealDataSymbols uses the real Go records' symbol lists: x/text's
// language.Parse is vulnerable to GO-2021-0113 but not to GO-2022-1059
// (which names MatchStrings and ParseAcceptLanguage only).
func TestRealDataSymbols(t *testing.T) {
	bin := map[string]bool{"golang.org/x/text/language.Parse": true, "golang.org/x/text/language": true}
	o := Options{Symbols: func(p inventory.Package) (map[string]bool, bool) { return bin, true }}
	rep := find(t, realSource(t), result(nil, goBinPkg("golang.org/x/text", "0.3.6")), o)
	for id, want := range map[string]bool{"CVE-2021-38561": true, "CVE-2022-32149": false} {
		m := matchOf(t, rep, "golang.org/x/text", id)
		if m.Reachable == nil || *m.Reachable != want {
			t.Errorf("%s reachable = %v, want %v", id, m.Reachable, want)
		}
	}
	// Unavailable symbols: unknown, not unreachable.
	o.Symbols = func(inventory.Package) (map[string]bool, bool) { return nil, false }
	rep = find(t, realSource(t), result(nil, goBinPkg("golang.org/x/text", "0.3.6")), o)
	for _, m := range rep.Matches {
		if m.Reachable != nil {
			t.Errorf("%s reachable = %v without symbols", m.ID, *m.Reachable)
		}
	}
}
