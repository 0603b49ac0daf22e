package vuln

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/advisory"
	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/inventory"
)

func TestFindMergeAndID(t *testing.T) {
	S := advisory.SemVer
	src := newMemSource(
		// One vulnerability published three times, linked transitively:
		// GHSA→CVE-1, PYSEC→GHSA, OSV-X→PYSEC.
		osvAdv("GHSA-aaaa-bbbb-cccc", []string{"CVE-2023-0001"}, "npm", "lib", S, "introduced:0", "fixed:1.0.1"),
		osvAdv("PYSEC-2023-1", []string{"GHSA-aaaa-bbbb-cccc"}, "npm", "lib", S, "introduced:0", "fixed:1.0.2"),
		osvAdv("OSV-2023-9", []string{"PYSEC-2023-1"}, "npm", "lib", S, "introduced:0", "fixed:1.0.1"),
		// A record with two CVEs (a duplicate assignment): lowest-numbered wins.
		osvAdv("GHSA-dddd-eeee-ffff", []string{"CVE-2022-10000", "CVE-2022-9999"}, "npm", "lib", S, "introduced:0", "fixed:2.0.0"),
		// No CVE: the first identifier in sorted order.
		osvAdv("RUSTSEC-2023-0001", []string{"GHSA-zzzz-zzzz-zzzz"}, "npm", "lib", S, "introduced:0", "fixed:2.0.0"),
		// Withdrawn: ignored.
		func() advisory.Advisory {
			a := osvAdv("GHSA-wwww-wwww-wwww", []string{"CVE-2023-7777"}, "npm", "lib", S, "introduced:0")
			a.Withdrawn = time.Date(2023, 5, 1, 0, 0, 0, 0, time.UTC)
			return a
		}(),
		// Another package of the same name in another ecosystem: not ours.
		osvAdv("GHSA-pppp-pppp-pppp", []string{"CVE-2023-5555"}, "PyPI", "lib", S, "introduced:0"),
	)
	rep := find(t, src, result(nil, pkg(inventory.Npm, "lib", "1.0.0")), Options{})
	if got, want := ids(rep, "lib"), []string{"CVE-2022-9999", "CVE-2023-0001", "GHSA-zzzz-zzzz-zzzz"}; !slices.Equal(got, want) {
		t.Fatalf("ids = %v, want %v", got, want)
	}
	m := matchOf(t, rep, "lib", "CVE-2023-0001")
	if want := []string{"GHSA-aaaa-bbbb-cccc", "OSV-2023-9", "PYSEC-2023-1"}; !slices.Equal(m.Advisories, want) || !slices.Equal(m.Aliases, want) {
		t.Errorf("merged = %v aliases %v, want %v", m.Advisories, m.Aliases, want)
	}
	if !slices.Equal(m.Fixed, []string{"1.0.1", "1.0.2"}) || m.FixVersion != "1.0.2" {
		t.Errorf("fixed = %v fix %q", m.Fixed, m.FixVersion)
	}
	if m2 := matchOf(t, rep, "lib", "CVE-2022-9999"); !slices.Equal(m2.Aliases, []string{"CVE-2022-10000", "GHSA-dddd-eeee-ffff"}) {
		t.Errorf("aliases = %v", m2.Aliases)
	}
	if len(rep.Fixes) != 1 || rep.Fixes[0].FixVersion != "2.0.0" {
		t.Errorf("fixes = %+v", rep.Fixes)
	}
}

func TestFindFilters(t *testing.T) {
	S := advisory.SemVer
	withVec := func(a advisory.Advisory, v string) advisory.Advisory {
		a.Severity = []advisory.Severity{{Type: advisory.CVSSv3, Vector: v}}
		return a
	}
	src := newMemSource(
		withVec(osvAdv("GHSA-1", []string{"CVE-2023-0001"}, "npm", "lib", S, "introduced:0", "fixed:2.0.0"), "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"), // critical
		withVec(osvAdv("GHSA-2", []string{"CVE-2023-0002"}, "npm", "lib", S, "introduced:0", "fixed:2.0.0"), "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N"), // low
		osvAdv("GHSA-3", []string{"CVE-2023-0003"}, "npm", "lib", S, "introduced:0", "fixed:2.0.0"),                                                          // unknown
		withVec(osvAdv("GHSA-4", []string{"CVE-2023-0004"}, "npm", "lib", S, "introduced:0"), "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"),                // high, no fix
	)
	r := result(nil, pkg(inventory.Npm, "lib", "1.0.0"))
	for _, tt := range []struct {
		name string
		o    Options
		want []string
	}{
		{"all", Options{}, []string{"CVE-2023-0001", "CVE-2023-0002", "CVE-2023-0003", "CVE-2023-0004"}},
		{"min high keeps unknown", Options{MinSeverity: finding.SeverityHigh}, []string{"CVE-2023-0001", "CVE-2023-0003", "CVE-2023-0004"}},
		{"min critical", Options{MinSeverity: finding.SeverityCritical}, []string{"CVE-2023-0001", "CVE-2023-0003"}},
		{"ignore unfixed", Options{IgnoreUnfixed: true}, []string{"CVE-2023-0001", "CVE-2023-0002", "CVE-2023-0003"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep := find(t, src, r, tt.o)
			if got := ids(rep, "lib"); !slices.Equal(got, tt.want) {
				t.Errorf("ids = %v, want %v", got, tt.want)
			}
		})
	}
	rep := find(t, src, r, Options{})
	if f := rep.Fixes; len(f) != 1 || f[0].FixVersion != "2.0.0" || f[0].Unfixed != 1 {
		t.Errorf("fixes = %+v, want 2.0.0 with 1 unfixed", f)
	}
}

// TestFindPackageFix: the package's upgrade must leave every range of
// every match, not just pass each match's own first fix.
func TestFindPackageFix(t *testing.T) {
	S := advisory.SemVer
	a := osvAdv("GHSA-a", []string{"CVE-2023-0001"}, "npm", "lib", S, "introduced:0", "fixed:1.2.5")
	a.Affected[0].Ranges = append(a.Affected[0].Ranges, rng(S, "introduced:1.3.0", "fixed:1.3.2"))
	b := osvAdv("GHSA-b", []string{"CVE-2023-0002"}, "npm", "lib", S, "introduced:0", "fixed:1.3.1")
	rep := find(t, newMemSource(a, b), result(nil, pkg(inventory.Npm, "lib", "1.2.0")), Options{})
	if m := matchOf(t, rep, "lib", "CVE-2023-0001"); m.FixVersion != "1.2.5" {
		t.Errorf("match fix = %q, want 1.2.5", m.FixVersion)
	}
	if len(rep.Fixes) != 1 || rep.Fixes[0].FixVersion != "1.3.2" {
		t.Errorf("package fix = %+v, want 1.3.2", rep.Fixes)
	}
}

func TestFindEcosystems(t *testing.T) {
	E := advisory.Ecosystem
	src := newMemSource(
		osvAdv("DSA-1-1", []string{"CVE-2023-0001"}, "Debian:11", "openssl", E, "introduced:0", "fixed:1.1.1n-0+deb11u5"),
		osvAdv("CVE-2023-0002", nil, "Alpine:v3.11", "openssl", E, "introduced:0", "fixed:1.1.1g-r0"),
		osvAdv("GO-2023-1", []string{"CVE-2023-0003"}, "Go", "stdlib", advisory.SemVer, "introduced:0", "fixed:1.21.4"),
		osvAdv("RHSA-1", []string{"CVE-2023-0004"}, "Red Hat", "openssl", E, "introduced:0", "fixed:1:3.0.7-99.el9"),
		osvAdv("PYSEC-1", []string{"CVE-2023-0005"}, "PyPI", "zope-interface", E, "introduced:0", "fixed:6.0"),
	)
	for _, a := range src.advs {
		for i := range a {
			a[i].Source = "debian"
		}
	}
	libssl := debPkg("libssl1.1", "1.1.1n-0+deb11u4", "openssl", "1.1.1n-0+deb11u4")
	openssl := debPkg("openssl", "1.1.1n-0+deb11u4", "openssl", "1.1.1n-0+deb11u4")
	apk := pkg(inventory.Alpine, "libcrypto1.1", "1.1.1d-r3")
	apk.Source = &inventory.Source{Name: "openssl", Version: "1.1.1d-r3"}
	rpm := pkg(inventory.RPM, "openssl-libs", "1:3.0.7-16.el9")
	gomod := pkg(inventory.Go, "stdlib", "1.21")
	gomod.Extractor = "go/gomod"
	for _, tt := range []struct {
		name    string
		r       *inventory.Result
		want    []string
		skipped []Skipped
		queries int
	}{
		{"debian binary packages share their source's lookup", result(debian11, libssl, openssl), []string{"CVE-2023-0001", "CVE-2023-0001"}, nil, 1},
		{"debian without VERSION_ID uses the codename", result(osCodename, libssl), []string{"CVE-2023-0001"}, nil, 1},
		{"ubuntu dpkg packages are not Debian's", result(ubuntu22, libssl), nil, []Skipped{{inventory.Debian, skipDistro, 1}}, 0},
		{"alpine by origin", result(alpine11, apk), []string{"CVE-2023-0002"}, nil, 1},
		{"apk on a non-Alpine OS", result(debian11, apk), nil, []Skipped{{inventory.Alpine, skipDistro, 1}}, 0},
		{"rpm skipped", result(nil, rpm), nil, []Skipped{{inventory.RPM, skipRPM, 1}}, 0},
		{"stdlib of go.mod skipped", result(nil, gomod), nil, []Skipped{{inventory.Go, skipGoMod, 1}}, 0},
		{"stdlib of a binary", result(nil, goBinPkg("stdlib", "1.21.3")), []string{"CVE-2023-0003"}, nil, 1},
		{"PyPI name normalised", result(nil, pkg(inventory.PyPI, "Zope.Interface", "5.0")), []string{"CVE-2023-0005"}, nil, 1},
		{"unreadable version", result(debian11, debPkg("x", "a:1", "x", "a:1")), nil, []Skipped{{inventory.Debian, skipBadVersion, 1}}, 0},
		{"no version", result(nil, pkg(inventory.Npm, "x", "")), nil, []Skipped{{inventory.Npm, skipNoVersion, 1}}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src.queries = 0
			rep := find(t, src, tt.r, Options{})
			if got := ids(rep, ""); !slices.Equal(got, tt.want) {
				t.Errorf("ids = %v, want %v", got, tt.want)
			}
			if !slices.Equal(rep.Skipped, tt.skipped) {
				t.Errorf("skipped = %+v, want %+v", rep.Skipped, tt.skipped)
			}
			if src.queries != tt.queries {
				t.Errorf("%d queries, want %d", src.queries, tt.queries)
			}
		})
	}
}

func TestFindExploitAndRisk(t *testing.T) {
	S := advisory.SemVer
	a := osvAdv("GHSA-1", []string{"CVE-2023-0001", "CVE-2023-0009"}, "npm", "lib", S, "introduced:0", "fixed:2.0.0")
	a.Severity = []advisory.Severity{{Type: advisory.CVSSv3, Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}} // 7.5
	src := newMemSource(a)
	src.epss["CVE-2023-0001"] = advisory.EPSS{CVE: "CVE-2023-0001", Score: 0.02, Percentile: 0.80}
	src.epss["CVE-2023-0009"] = advisory.EPSS{CVE: "CVE-2023-0009", Score: 0.50, Percentile: 0.97}
	src.kev["CVE-2023-0009"] = advisory.KEV{CVE: "CVE-2023-0009"}
	yes := true
	rep := find(t, src, result(nil, pkg(inventory.Npm, "lib", "1.0.0")), Options{Exposure: Exposure{InternetFacing: &yes}})
	m := matchOf(t, rep, "lib", "CVE-2023-0001")
	if m.EPSS == nil || m.EPSS.CVE != "CVE-2023-0009" || m.KEV == nil {
		t.Fatalf("epss %+v kev %+v: want the alias's", m.EPSS, m.KEV)
	}
	// 75 (CVSS 7.5) + 25 (KEV) + 18 (EPSS p97) + 10 (internet-facing) → 128, capped.
	if m.Risk.Score != 100 || len(m.Risk.Reasons) != 4 {
		t.Errorf("risk = %+v", m.Risk)
	}
}

func TestRisk(t *testing.T) {
	yes, no := true, false
	c := func(s float64) *CVSS { return &CVSS{Version: "3.1", Score: s} }
	tests := []struct {
		name string
		m    Match
		exp  Exposure
		want float64
	}{
		{"cvss only", Match{CVSS: c(7.5), Fixed: []string{"1"}}, Exposure{}, 75},
		{"no cvss, high", Match{Severity: finding.SeverityHigh, Fixed: []string{"1"}}, Exposure{}, 75},
		{"unknown ranked as medium", Match{}, Exposure{}, 50},
		{"kev floor", Match{CVSS: c(4.3), KEV: &advisory.KEV{CVE: "CVE-1"}}, Exposure{}, 80},
		{"kev bonus", Match{CVSS: c(6.1), KEV: &advisory.KEV{CVE: "CVE-1"}}, Exposure{}, 86},
		{"epss below 0.7 adds nothing", Match{CVSS: c(5.0), EPSS: &advisory.EPSS{Percentile: 0.5}}, Exposure{}, 50},
		{"epss p85", Match{CVSS: c(5.0), EPSS: &advisory.EPSS{Percentile: 0.85}}, Exposure{}, 60},
		{"internet-facing", Match{CVSS: c(5.0)}, Exposure{InternetFacing: &yes}, 60},
		{"internal", Match{CVSS: c(5.0)}, Exposure{InternetFacing: &no}, 45},
		{"listening ports", Match{CVSS: c(5.0)}, Exposure{ListeningPorts: []int{443}}, 53},
		{"reachable", Match{CVSS: c(7.5), Reachable: &yes}, Exposure{}, 80},
		{"unreachable halves", Match{CVSS: c(9.8), Reachable: &no}, Exposure{}, 49},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := riskOf(&tt.m, tt.exp)
			if r.Score != tt.want {
				t.Errorf("score = %v, want %v (%v)", r.Score, tt.want, r.Reasons)
			}
			if len(r.Reasons) == 0 {
				t.Error("no reasons")
			}
		})
	}
}

func TestFindSuppression(t *testing.T) {
	S := advisory.SemVer
	src := newMemSource(
		osvAdv("GHSA-1", []string{"CVE-2023-0001"}, "npm", "lib", S, "introduced:0", "fixed:2.0.0"),
		osvAdv("GHSA-2", []string{"CVE-2023-0002"}, "npm", "lib", S, "introduced:0", "fixed:3.0.0"),
		osvAdv("GHSA-3", []string{"CVE-2023-0003"}, "npm", "lib", S, "introduced:0", "fixed:2.5.0"),
	)
	ig, err := ParseIgnoreFile([]byte(`
ignore:
  - id: GHSA-2            # by alias
    reason: test-only dependency
  - id: CVE-2023-0003
    package: other        # another package: no effect
    reason: n/a
  - id: CVE-2023-0001
    package: lib
    reason: mitigated by WAF rule 12
    expires: 2026-06-30
`))
	if err != nil {
		t.Fatal(err)
	}
	r := result(nil, pkg(inventory.Npm, "lib", "1.0.0"))
	at := func(d string) func() time.Time {
		return func() time.Time { tm, _ := time.Parse(time.RFC3339, d); return tm }
	}
	// Last day of validity: suppressed.
	rep := find(t, src, r, Options{Suppressors: []Suppressor{ig}, Now: at("2026-06-30T23:59:59Z")})
	for id, want := range map[string]bool{"CVE-2023-0001": true, "CVE-2023-0002": true, "CVE-2023-0003": false} {
		if m := matchOf(t, rep, "lib", id); (m.Suppressed != nil) != want {
			t.Errorf("%s suppressed = %+v, want %v", id, m.Suppressed, want)
		}
	}
	// Suppressed matches do not drive the upgrade: 2.5.0 fixes the rest.
	if len(rep.Fixes) != 1 || rep.Fixes[0].FixVersion != "2.5.0" {
		t.Errorf("fixes = %+v", rep.Fixes)
	}
	// The day after: counted again, and the lapsed rule is visible.
	rep = find(t, src, r, Options{Suppressors: []Suppressor{ig}, Now: at("2026-07-01T00:00:00Z")})
	m := matchOf(t, rep, "lib", "CVE-2023-0001")
	if m.Suppressed != nil || m.ExpiredSuppression == nil || m.ExpiredSuppression.Reason != "mitigated by WAF rule 12" {
		t.Errorf("after expiry: suppressed %+v expired %+v", m.Suppressed, m.ExpiredSuppression)
	}
	if !slices.ContainsFunc(m.Risk.Reasons, func(s string) bool {
		return s == "ignore-file rule CVE-2023-0001 expired 2026-06-30 (mitigated by WAF rule 12): counted again"
	}) {
		t.Errorf("reasons = %q", m.Risk.Reasons)
	}
	if len(rep.Fixes) != 1 || rep.Fixes[0].FixVersion != "2.5.0" {
		t.Errorf("fixes = %+v", rep.Fixes)
	}
}

func TestFindContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Find(ctx, newMemSource(), result(nil, pkg(inventory.Npm, "lib", "1.0.0")), Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// TestFindUpstream: a distribution's OSV record naming its CVE only as
// upstream still gets that CVE's exploitation data.
func TestFindUpstream(t *testing.T) {
	a := osvAdv("DEBIAN-CVE-2023-0001", nil, "npm", "lib", advisory.SemVer, "introduced:0", "fixed:2.0.0")
	a.Upstream = []string{"CVE-2023-0001"}
	src := newMemSource(a)
	src.kev["CVE-2023-0001"] = advisory.KEV{CVE: "CVE-2023-0001"}
	rep := find(t, src, result(nil, pkg(inventory.Npm, "lib", "1.0.0")), Options{})
	if m := matchOf(t, rep, "lib", "DEBIAN-CVE-2023-0001"); m.KEV == nil {
		t.Error("no KEV from the upstream CVE")
	}
}
