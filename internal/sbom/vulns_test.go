package sbom

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/vigil-sec/vigil/internal/advisory"
	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/inventory"
	"github.com/vigil-sec/vigil/internal/vuln"
)

// testReport adds hand-built matches to testResult's packages: Debian, Go
// and PyPI ones, one in CISA's KEV catalogue, one suppressed by VEX, one by
// an ignore rule, one without a fix.
func testReport() *vuln.Report {
	r := testResult()
	pkg := func(name string) inventory.Package {
		for _, p := range r.Packages {
			if p.Name == name {
				return p
			}
		}
		panic(name)
	}
	match := func(name string, m vuln.Match) vuln.Match {
		p := pkg(name)
		m.PackageID, m.Package, m.Version, m.Ecosystem = p.ID, p.Name, p.Version, p.Ecosystem
		return m
	}
	yes := true
	return &vuln.Report{
		Result: r,
		Matches: []vuln.Match{
			match("libssl3", vuln.Match{
				ID: "CVE-2024-9143", Aliases: []string{"DSA-5800-1"}, Advisories: []string{"DSA-5800-1"},
				Summary:  "Out-of-bounds memory access with low-level GF(2^m) elliptic curve APIs",
				Severity: finding.SeverityMedium,
				CVSS:     &vuln.CVSS{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:H", Score: 4.3},
				Fixed:    []string{"3.0.15-1~deb12u2"}, FixVersion: "3.0.15-1~deb12u2",
				Risk: vuln.Risk{Score: 31, Reasons: []string{"medium severity", "fix available"}},
			}),
			match("libc6", vuln.Match{
				ID: "CVE-2023-4911", Aliases: []string{"DLA-3000-1"}, Advisories: []string{"CVE-2023-4911"},
				Summary:  "Buffer overflow in the dynamic loader's GLIBC_TUNABLES processing",
				Severity: finding.SeverityHigh,
				CVSS:     &vuln.CVSS{Version: "3.1", Vector: "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", Score: 7.8},
				EPSS:     &advisory.EPSS{CVE: "CVE-2023-4911", Score: 0.6712, Percentile: 0.9841},
				KEV:      &advisory.KEV{CVE: "CVE-2023-4911", DateAdded: time.Date(2023, 11, 21, 0, 0, 0, 0, time.UTC)},
				Risk:     vuln.Risk{Score: 90, Reasons: []string{"known exploited (KEV)", "no fix"}},
			}),
			match("libc6", vuln.Match{
				ID: "CVE-2010-4756", Advisories: []string{"CVE-2010-4756"},
				Severity:   finding.SeverityLow,
				Risk:       vuln.Risk{Score: 5},
				Suppressed: &vuln.Suppression{By: "ignore-file", Reason: "glob() is never given untrusted patterns", Rule: "CVE-2010-4756"},
			}),
			match("golang.org/x/net", vuln.Match{
				ID: "CVE-2025-22870", Aliases: []string{"GHSA-qxp5-gwg8-xv66", "GO-2025-3503"}, Advisories: []string{"GO-2025-3503"},
				Summary:  "HTTP Proxy bypass using IPv6 Zone IDs",
				Severity: finding.SeverityMedium,
				CVSS:     &vuln.CVSS{Version: "4.0", Vector: "CVSS:4.0/AV:N/AC:H/AT:N/PR:L/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N", Score: 4.4},
				Fixed:    []string{"0.36.0"}, FixVersion: "0.36.0",
				Reachable: &yes,
				Risk:      vuln.Risk{Score: 40},
			}),
			match("requests", vuln.Match{
				ID: "CVE-2024-47081", Aliases: []string{"GHSA-9hjg-9r4m-mvj7", "PYSEC-2025-1"}, Advisories: []string{"GHSA-9hjg-9r4m-mvj7"},
				Summary:  ".netrc credentials leak via malicious URLs",
				Severity: finding.SeverityMedium,
				Fixed:    []string{"2.32.4"}, FixVersion: "2.32.4",
				Risk:       vuln.Risk{Score: 20},
				Suppressed: &vuln.Suppression{By: "vex", Status: "not_affected", Rule: "CVE-2024-47081", Reason: "vulnerable_code_not_in_execute_path: no .netrc in the image (app.vex.json)"},
			}),
		},
		Fixes: []vuln.PackageFix{
			{PackageID: pkg("libssl3").ID, Package: "libssl3", Version: "3.0.15-1~deb12u1", FixVersion: "3.0.15-1~deb12u2"},
		},
	}
}

func encodeReport(t *testing.T, rep *vuln.Report, version string) []byte {
	t.Helper()
	o := testOpts
	o.SpecVersion = version
	var buf bytes.Buffer
	if err := EncodeCycloneDXReport(&buf, rep, o); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCycloneDXReportGolden(t *testing.T) {
	for _, version := range []string{CycloneDX15, CycloneDX16} {
		t.Run(version, func(t *testing.T) {
			vulnGolden(t, filepath.Join("testdata", "golden", "cyclonedx-"+version+"-vulns.json"), encodeReport(t, testReport(), version))
		})
	}
}

func vulnGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("output differs from %s (-want +got; run go test -update if intended):\n%s", path, diff)
	}
}

func TestCycloneDXReportSchema(t *testing.T) {
	dir := cyclonedxSchemaDir(t)
	reports := map[string]*vuln.Report{"fixture": testReport(), "no result": {Matches: testReport().Matches}, "no matches": {Result: testResult()}}
	for _, version := range []string{CycloneDX15, CycloneDX16} {
		schema := loadSchema(t, dir, version)
		for name, rep := range reports {
			t.Run(version+"/"+name, func(t *testing.T) {
				doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(encodeReport(t, rep, version)))
				if err != nil {
					t.Fatal(err)
				}
				if err := schema.Validate(doc); err != nil {
					t.Errorf("invalid CycloneDX %s: %v", version, err)
				}
			})
		}
	}
}

// TestCycloneDXReportStructure checks what the schema cannot: every
// vulnerability affects a component of the BOM, bom-refs stay unique,
// suppressed matches are analysed, and the serial number says the document
// differs from the plain BOM.
func TestCycloneDXReportStructure(t *testing.T) {
	var doc struct {
		SerialNumber string `json:"serialNumber"`
		Metadata     struct {
			Component struct {
				BOMRef string `json:"bom-ref"`
			} `json:"component"`
		} `json:"metadata"`
		Components []struct {
			BOMRef string `json:"bom-ref"`
		} `json:"components"`
		Vulnerabilities []struct {
			BOMRef  string `json:"bom-ref"`
			ID      string `json:"id"`
			Affects []struct {
				Ref string `json:"ref"`
			} `json:"affects"`
			Analysis *struct {
				State string `json:"state"`
			} `json:"analysis"`
			Source struct{ Name string } `json:"source"`
		} `json:"vulnerabilities"`
	}
	rep := testReport()
	if err := json.Unmarshal(encodeReport(t, rep, CycloneDX15), &doc); err != nil {
		t.Fatal(err)
	}
	refs := map[string]bool{doc.Metadata.Component.BOMRef: true}
	for _, c := range doc.Components {
		refs[c.BOMRef] = true
	}
	if len(doc.Vulnerabilities) != len(rep.Matches) {
		t.Fatalf("%d vulnerabilities, want one per match (%d)", len(doc.Vulnerabilities), len(rep.Matches))
	}
	states := map[string]string{}
	for _, v := range doc.Vulnerabilities {
		if v.BOMRef == "" || refs[v.BOMRef] {
			t.Errorf("%s: bom-ref %q empty or taken", v.ID, v.BOMRef)
		}
		refs[v.BOMRef] = true
		if len(v.Affects) != 1 {
			t.Errorf("%s affects %d components", v.ID, len(v.Affects))
		}
		for _, a := range v.Affects {
			if !refs[a.Ref] {
				t.Errorf("%s affects unknown bom-ref %q", v.ID, a.Ref)
			}
		}
		if v.Analysis != nil {
			states[v.ID] = v.Analysis.State
		}
	}
	if want := map[string]string{"CVE-2024-47081": "not_affected", "CVE-2010-4756": ""}; !cmp.Equal(states, want) {
		t.Errorf("analysis states %v, want %v", states, want)
	}
	if doc.Vulnerabilities[0].ID != "CVE-2010-4756" || doc.Vulnerabilities[0].Source.Name != "NVD" {
		t.Errorf("first vulnerability %+v, want CVE-2010-4756 from NVD (sorted by ID)", doc.Vulnerabilities[0])
	}

	var plain bytes.Buffer
	if err := EncodeCycloneDX(&plain, testResult(), testOpts); err != nil {
		t.Fatal(err)
	}
	if idLine(plain.String()) == idLine(string(encodeReport(t, rep, CycloneDX15))) {
		t.Error("the BOM with vulnerabilities has the plain BOM's serial number")
	}
	if got := encodeReport(t, &vuln.Report{Result: testResult()}, CycloneDX15); !bytes.Equal(got, plain.Bytes()) {
		t.Error("a report without matches does not give the plain BOM")
	}
}

// TestCycloneDXReportDecode: the vulnerabilities do not disturb reading
// the inventory back.
func TestCycloneDXReportDecode(t *testing.T) {
	var plain bytes.Buffer
	if err := EncodeCycloneDX(&plain, testResult(), testOpts); err != nil {
		t.Fatal(err)
	}
	want, _, err := Decode(&plain, "bom.json")
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := Decode(bytes.NewReader(encodeReport(t, testReport(), CycloneDX15)), "bom.json")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.Packages, got.Packages); diff != "" {
		t.Errorf("packages read back differ (-plain +with vulnerabilities):\n%s", diff)
	}
}

func TestVulnSource(t *testing.T) {
	for id, want := range map[string]string{
		"CVE-2024-1":          "NVD https://nvd.nist.gov/vuln/detail/CVE-2024-1",
		"GHSA-xxxx-yyyy-zzzz": "GitHub https://github.com/advisories/GHSA-xxxx-yyyy-zzzz",
		"GO-2025-3503":        "Go https://pkg.go.dev/vuln/GO-2025-3503",
		"RUSTSEC-2021-0001":   "RustSec https://rustsec.org/advisories/RUSTSEC-2021-0001.html",
		"DSA-5800-1":          "Debian https://security-tracker.debian.org/tracker/DSA-5800-1",
		"MAL-2024-1":          "OSV https://osv.dev/vulnerability/MAL-2024-1",
	} {
		s := vulnSource(id)
		if got := s.Name + " " + s.URL; got != want {
			t.Errorf("vulnSource(%s) = %q, want %q", id, got, want)
		}
	}
}
