package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-sec/vigil/internal/advisory"
	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/inventory"
	"github.com/vigil-sec/vigil/internal/sarif"
	"github.com/vigil-sec/vigil/internal/sarif/sariftest"
	"github.com/vigil-sec/vigil/internal/vuln"
)

var update = flag.Bool("update", false, "rewrite testdata/golden files")

var (
	fixedTime = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	testTool  = Tool{Name: "vigil", Version: "0.1.0-test"}
)

const (
	layer0 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	layer1 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

// testReport is a hand-built scan of a small Debian image: matches across
// Debian, Maven, Go and PyPI, one in CISA's KEV catalogue, one suppressed
// by VEX, one without a fix, and an archive that could not be read.
func testReport() *vuln.Report {
	a := asset.Asset{
		Kind:     asset.KindImage,
		Name:     "registry.example/shop/api:1.4.2",
		Digest:   "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		Platform: "linux/amd64",
		OS:       &asset.OS{ID: "debian", VersionID: "12", Codename: "bookworm", PrettyName: "Debian GNU/Linux 12 (bookworm)"},
		Layers:   []asset.Layer{{Index: 0, DiffID: layer0}, {Index: 1, DiffID: layer1}},
	}
	a.ID = asset.NewID(asset.KindImage, a.Digest)
	pkgs := []inventory.Package{
		{
			Name: "libssl3", Version: "3.0.11-1~deb12u2", Ecosystem: inventory.Debian,
			PURL:      "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12",
			Source:    &inventory.Source{Name: "openssl"},
			Locations: []inventory.Location{{Path: "/var/lib/dpkg/status", LayerDiffID: layer0}},
			Extractor: "os/dpkg",
		},
		{
			Name: "libc6", Version: "2.36-9+deb12u4", Ecosystem: inventory.Debian,
			PURL:      "pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64&distro=debian-12",
			Source:    &inventory.Source{Name: "glibc"},
			Locations: []inventory.Location{{Path: "/var/lib/dpkg/status", LayerDiffID: layer0}},
			Extractor: "os/dpkg",
		},
		{
			Name: "org.apache.logging.log4j:log4j-core", Version: "2.14.1", Ecosystem: inventory.Maven,
			PURL:      "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
			Locations: []inventory.Location{{Path: "/app/lib/log4j-core-2.14.1.jar", LayerDiffID: layer1, LayerIndex: 1}},
			Extractor: "java/archive",
		},
		{
			Name: "golang.org/x/net", Version: "v0.33.0", Ecosystem: inventory.Go,
			PURL:      "pkg:golang/golang.org/x/net@v0.33.0",
			Locations: []inventory.Location{{Path: "/app/server", LayerDiffID: layer1, LayerIndex: 1}},
			Extractor: "go/binary",
		},
		{
			Name: "requests", Version: "2.31.0", Ecosystem: inventory.PyPI,
			PURL:      "pkg:pypi/requests@2.31.0",
			Locations: []inventory.Location{{Path: "/usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA", LayerDiffID: layer1, LayerIndex: 1}},
			Extractor: "python/wheelegg",
		},
	}
	for i := range pkgs {
		pkgs[i].ComputeID()
	}
	id := func(name string) string {
		for _, p := range pkgs {
			if p.Name == name {
				return p.ID
			}
		}
		panic(name)
	}
	no := false
	matches := []vuln.Match{
		{
			ID: "CVE-2024-5535", Aliases: []string{"DSA-5725-1"}, Advisories: []string{"DSA-5725-1"},
			Summary:   "SSL_select_next_proto buffer overread",
			PackageID: id("libssl3"), Package: "libssl3", Version: "3.0.11-1~deb12u2", Ecosystem: inventory.Debian,
			Severity: finding.SeverityHigh,
			CVSS:     &vuln.CVSS{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:H", Score: 9.1},
			EPSS:     &advisory.EPSS{CVE: "CVE-2024-5535", Score: 0.0042, Percentile: 0.61},
			Fixed:    []string{"3.0.14-1~deb12u1"}, FixVersion: "3.0.14-1~deb12u1",
			Risk: vuln.Risk{Score: 61.5, Reasons: []string{"high severity", "fix available"}},
		},
		{
			ID: "CVE-2010-4756", Advisories: []string{"CVE-2010-4756"},
			Summary:   "glob implementation allows resource exhaustion",
			PackageID: id("libc6"), Package: "libc6", Version: "2.36-9+deb12u4", Ecosystem: inventory.Debian,
			Severity: finding.SeverityLow,
			Risk:     vuln.Risk{Score: 8, Reasons: []string{"low severity", "no fix"}},
			ExpiredSuppression: &vuln.Suppression{By: "ignore-file", Rule: "CVE-2010-4756", Reason: "only used at build time",
				Expires: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
		},
		{
			ID: "CVE-2021-44228", Aliases: []string{"GHSA-jfh8-c2jp-5v3q"}, Advisories: []string{"GHSA-jfh8-c2jp-5v3q"},
			Summary:   "Remote code injection in Log4j",
			PackageID: id("org.apache.logging.log4j:log4j-core"), Package: "org.apache.logging.log4j:log4j-core", Version: "2.14.1", Ecosystem: inventory.Maven,
			Severity: finding.SeverityCritical,
			CVSS:     &vuln.CVSS{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", Score: 10},
			EPSS:     &advisory.EPSS{CVE: "CVE-2021-44228", Score: 0.944, Percentile: 0.9999},
			KEV:      &advisory.KEV{CVE: "CVE-2021-44228", VendorProject: "Apache", Product: "Log4j2", DateAdded: time.Date(2021, 12, 10, 0, 0, 0, 0, time.UTC)},
			Fixed:    []string{"2.15.0", "2.12.2", "2.3.1"}, FixVersion: "2.15.0",
			Risk: vuln.Risk{Score: 99, Reasons: []string{"critical severity", "known exploited (KEV)", "EPSS 94%"}},
		},
		{
			ID: "CVE-2021-45046", Aliases: []string{"GHSA-7rjr-3q55-vv33"}, Advisories: []string{"GHSA-7rjr-3q55-vv33"},
			Summary:   "Incomplete fix for Apache Log4j vulnerability",
			PackageID: id("org.apache.logging.log4j:log4j-core"), Package: "org.apache.logging.log4j:log4j-core", Version: "2.14.1", Ecosystem: inventory.Maven,
			Severity: finding.SeverityCritical,
			CVSS:     &vuln.CVSS{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:H/A:H", Score: 9},
			EPSS:     &advisory.EPSS{CVE: "CVE-2021-45046", Score: 0.9434, Percentile: 0.999},
			Fixed:    []string{"2.16.0", "2.12.2"}, FixVersion: "2.16.0",
			Risk: vuln.Risk{Score: 88.5, Reasons: []string{"critical severity", "EPSS 94%"}},
		},
		{
			ID: "CVE-2025-22870", Aliases: []string{"GHSA-qxp5-gwg8-xv66", "GO-2025-3503"}, Advisories: []string{"GO-2025-3503"},
			Summary:   "HTTP Proxy bypass using IPv6 Zone IDs in golang.org/x/net",
			PackageID: id("golang.org/x/net"), Package: "golang.org/x/net", Version: "v0.33.0", Ecosystem: inventory.Go,
			Severity: finding.SeverityMedium,
			CVSS:     &vuln.CVSS{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:H/PR:L/UI:N/S:U/C:L/I:L/A:L", Score: 4.4},
			Fixed:    []string{"0.36.0"}, FixVersion: "0.36.0",
			Reachable: &no,
			Risk:      vuln.Risk{Score: 22.5, Reasons: []string{"medium severity", "vulnerable symbols absent"}},
		},
		{
			ID: "CVE-2024-35195", Aliases: []string{"GHSA-9wx4-h78v-vm56"}, Advisories: []string{"GHSA-9wx4-h78v-vm56"},
			Summary:   "Requests Session object does not verify requests after making first request with verify=False",
			PackageID: id("requests"), Package: "requests", Version: "2.31.0", Ecosystem: inventory.PyPI,
			Severity: finding.SeverityMedium,
			CVSS:     &vuln.CVSS{Version: "3.1", Vector: "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:H/I:H/A:N", Score: 5.6},
			Fixed:    []string{"2.32.0"}, FixVersion: "2.32.0",
			Risk:       vuln.Risk{Score: 30},
			Suppressed: &vuln.Suppression{By: "vex", Status: "not_affected", Rule: "CVE-2024-35195", Reason: "vulnerable_code_not_in_execute_path: verify=False is never used (vex/app.openvex.json)"},
		},
	}
	fixes := []vuln.PackageFix{
		{PackageID: id("libssl3"), Package: "libssl3", Version: "3.0.11-1~deb12u2", FixVersion: "3.0.14-1~deb12u1"},
		{PackageID: id("golang.org/x/net"), Package: "golang.org/x/net", Version: "v0.33.0", FixVersion: "0.36.0"},
		{PackageID: id("org.apache.logging.log4j:log4j-core"), Package: "org.apache.logging.log4j:log4j-core", Version: "2.14.1", FixVersion: "2.16.0"},
		{PackageID: id("requests"), Package: "requests", Version: "2.31.0", FixVersion: "2.32.0"},
	}
	return &vuln.Report{
		Result: &inventory.Result{
			Asset:    a,
			Packages: pkgs,
			Unknowns: []inventory.Unknown{{Path: "/app/vendor.tar.gz", Layer: layer1, Extractor: "archive", Err: "archive over the 1 GiB limit"}},
		},
		Matches: matches,
		Fixes:   fixes,
		Skipped: []vuln.Skipped{{Ecosystem: inventory.Npm, Reason: "unreadable version", Packages: 2}},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("output differs from %s (-want +got; run go test -update if intended):\n%s", path, diff)
	}
}

// writers are the vulnerability writers, each with its golden file.
var writers = []struct {
	golden string
	write  func(io.Writer, *vuln.Report) error
}{
	{"vuln-table.txt", func(b io.Writer, r *vuln.Report) error { return WriteVulnTable(b, r) }},
	{"vuln.json", func(b io.Writer, r *vuln.Report) error { return WriteVulnJSON(b, r, testTool, fixedTime) }},
	{"vuln.sarif", func(b io.Writer, r *vuln.Report) error {
		return WriteVulnSARIF(b, r, sarif.Tool{Name: testTool.Name, Version: testTool.Version, InformationURI: "https://vigil.invalid/"})
	}},
}

func TestVulnGolden(t *testing.T) {
	for _, w := range writers {
		t.Run(w.golden, func(t *testing.T) {
			var buf bytes.Buffer
			if err := w.write(&buf, testReport()); err != nil {
				t.Fatal(err)
			}
			golden(t, w.golden, buf.Bytes())
		})
	}
}

// TestVulnDeterministic: the order of matches and fixes in the report does
// not change the output, and the report is left as it was.
func TestVulnDeterministic(t *testing.T) {
	for _, w := range writers {
		t.Run(w.golden, func(t *testing.T) {
			var a, b bytes.Buffer
			if err := w.write(&a, testReport()); err != nil {
				t.Fatal(err)
			}
			rep := testReport()
			m, f := rep.Matches, rep.Fixes
			m[0], m[len(m)-1] = m[len(m)-1], m[0]
			f[0], f[len(f)-1] = f[len(f)-1], f[0]
			first := m[0].ID
			if err := w.write(&b, rep); err != nil {
				t.Fatal(err)
			}
			if a.String() != b.String() {
				t.Error("reordered matches changed the output")
			}
			if rep.Matches[0].ID != first {
				t.Error("the writer reordered the caller's matches")
			}
		})
	}
}

// TestVulnEmpty: a report without matches (or without an inventory)
// still renders.
func TestVulnEmpty(t *testing.T) {
	clean := testReport()
	clean.Matches, clean.Fixes, clean.Skipped = nil, nil, nil
	clean.Result.Unknowns = nil
	for name, rep := range map[string]*vuln.Report{"clean": clean, "no result": {}} {
		for _, w := range writers {
			t.Run(name+"/"+w.golden, func(t *testing.T) {
				var buf bytes.Buffer
				if err := w.write(&buf, rep); err != nil {
					t.Fatal(err)
				}
				out := buf.String()
				switch w.golden {
				case "vuln-table.txt":
					if !strings.Contains(out, "Vulnerabilities: none\n") || strings.Contains(out, "INCOMPLETE") {
						t.Errorf("table:\n%s", out)
					}
				case "vuln.json":
					if !strings.Contains(out, `"matches": []`) || !strings.Contains(out, `"fixes": []`) || !strings.Contains(out, `"packages": [`) {
						t.Errorf("json:\n%s", out)
					}
				case "vuln.sarif":
					sariftest.Validate(t, buf.Bytes())
				}
			})
		}
	}
}

func TestVulnSARIFSchema(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteVulnSARIF(&buf, testReport(), sarif.Tool{Name: "vigil"}); err != nil {
		t.Fatal(err)
	}
	sariftest.Validate(t, buf.Bytes())
}

// TestVulnSARIF checks the mapping: one rule per vulnerability graded by
// its worst match, one result per match with the finding's ID as its
// fingerprint, suppressions carried over.
func TestVulnSARIF(t *testing.T) {
	rep := testReport()
	rules, results := VulnSARIF(rep)
	if len(rules) != 6 || len(results) != len(rep.Matches) {
		t.Fatalf("%d rules and %d results, want 6 and %d", len(rules), len(results), len(rep.Matches))
	}
	byRule := map[string]sarif.Rule{}
	for _, r := range rules {
		byRule[r.ID] = r
	}
	if r := byRule["CVE-2021-44228"]; r.DefaultLevel != sarif.LevelError || r.Properties[sarif.SecuritySeverityProperty] != "10.0" || r.HelpURI != "https://osv.dev/vulnerability/CVE-2021-44228" {
		t.Errorf("log4shell rule = %+v", r)
	}
	if r := byRule["CVE-2010-4756"]; r.DefaultLevel != sarif.LevelNote || r.Properties[sarif.SecuritySeverityProperty] != "2.0" {
		t.Errorf("rule without CVSS = %+v", r)
	}
	for _, res := range results {
		var m *vuln.Match
		for i := range rep.Matches {
			if rep.Matches[i].ID == res.RuleID {
				m = &rep.Matches[i]
			}
		}
		if want := m.Finding(rep.Result.Asset.ID).ID; res.Fingerprints[FingerprintKey] != want {
			t.Errorf("%s: fingerprint %q, want %q", res.RuleID, res.Fingerprints[FingerprintKey], want)
		}
		if (m.Suppressed != nil) != (len(res.Suppressions) == 1) {
			t.Errorf("%s: suppressions %+v for suppressed=%v", res.RuleID, res.Suppressions, m.Suppressed)
		}
		if len(res.Locations) != 1 || strings.HasPrefix(res.Locations[0].URI, "/") || res.Locations[0].LogicalName != m.Package+"@"+m.Version {
			t.Errorf("%s: locations %+v", res.RuleID, res.Locations)
		}
	}
}

// TestVulnJSONSummary reads the document back and checks its counts.
func TestVulnJSONSummary(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteVulnJSON(&buf, testReport(), testTool, fixedTime); err != nil {
		t.Fatal(err)
	}
	var doc VulnDocument
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	want := VulnSummary{
		Summary:         Summary{Packages: 5, ByEcosystem: map[inventory.Ecosystem]int{"Debian": 2, "Maven": 1, "Go": 1, "PyPI": 1}},
		Vulnerabilities: 5, Suppressed: 1, Fixable: 4, KEV: 1,
		BySeverity: map[string]int{"critical": 2, "high": 1, "medium": 1, "low": 1, "unknown": 0},
	}
	if diff := cmp.Diff(want, doc.Summary); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if doc.SchemaVersion != VulnSchemaVersion || doc.Complete || len(doc.Unknowns) != 1 {
		t.Errorf("schemaVersion %q, complete %v, %d unknowns", doc.SchemaVersion, doc.Complete, len(doc.Unknowns))
	}
	if doc.Matches[0].ID != "CVE-2021-44228" || doc.Fixes[0].Package != "org.apache.logging.log4j:log4j-core" {
		t.Errorf("riskiest first: match %s, fix %s", doc.Matches[0].ID, doc.Fixes[0].Package)
	}
}

func TestVulnWriteError(t *testing.T) {
	for _, w := range writers {
		if err := w.write(failWriter{}, testReport()); err == nil {
			t.Errorf("%s: no error", w.golden)
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestTableGolden guards the inventory table, whose header and
// incompleteness section the vulnerability table shares.
func TestTableGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTable(&buf, testReport().Result); err != nil {
		t.Fatal(err)
	}
	golden(t, "table.txt", buf.Bytes())
}
