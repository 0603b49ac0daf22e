package vex

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/inventory"
	"github.com/vigil-sec/vigil/internal/vuln"
)

var update = flag.Bool("update", false, "rewrite testdata/golden files")

var fixedTime = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

// testReport is a hand-built report: matches across Debian, Maven, Go and
// PyPI packages (one without a valid purl), one suppressed by VEX, one by
// an ignore rule.
func testReport() *vuln.Report {
	pkgs := []inventory.Package{
		{Name: "libssl3", Version: "3.0.11-1~deb12u2", Ecosystem: inventory.Debian, PURL: "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12", Locations: []inventory.Location{{Path: "/var/lib/dpkg/status"}}},
		{Name: "libc6", Version: "2.36-9+deb12u4", Ecosystem: inventory.Debian, PURL: "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12", Locations: []inventory.Location{{Path: "/var/lib/dpkg/status"}}},
		{Name: "org.apache.logging.log4j:log4j-core", Version: "2.14.1", Ecosystem: inventory.Maven, PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", Locations: []inventory.Location{{Path: "/app/lib/log4j-core-2.14.1.jar"}}},
		{Name: "golang.org/x/net", Version: "v0.33.0", Ecosystem: inventory.Go, PURL: "pkg:golang/golang.org/x/net@v0.33.0", Locations: []inventory.Location{{Path: "/app/server"}}},
		{Name: "requests", Version: "2.31.0", Ecosystem: inventory.PyPI, PURL: "pkg:pypi/requests@2.31.0", Locations: []inventory.Location{{Path: "/usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA"}}},
		{Name: "left-pad", Version: "1.3.0", Ecosystem: inventory.Npm, PURL: "not a purl", Locations: []inventory.Location{{Path: "/app/node_modules/left-pad/package.json"}}},
	}
	for i := range pkgs {
		pkgs[i].ComputeID()
	}
	match := func(i int, m vuln.Match) vuln.Match {
		p := pkgs[i]
		m.PackageID, m.Package, m.Version, m.Ecosystem = p.ID, p.Name, p.Version, p.Ecosystem
		return m
	}
	return &vuln.Report{
		Result: &inventory.Result{Packages: pkgs},
		Matches: []vuln.Match{
			match(0, vuln.Match{ID: "CVE-2024-5535", Aliases: []string{"DSA-5725-1"}, Advisories: []string{"DSA-5725-1"}, Severity: finding.SeverityHigh, FixVersion: "3.0.14-1~deb12u1", Fixed: []string{"3.0.14-1~deb12u1"}}),
			match(1, vuln.Match{ID: "CVE-2010-4756", Severity: finding.SeverityLow,
				Suppressed: &vuln.Suppression{By: "ignore-file", Reason: "glob() never sees untrusted patterns", Rule: "CVE-2010-4756"}}),
			match(2, vuln.Match{ID: "CVE-2021-44228", Aliases: []string{"GHSA-jfh8-c2jp-5v3q"}, Severity: finding.SeverityCritical, FixVersion: "2.15.0", Fixed: []string{"2.15.0"}}),
			match(3, vuln.Match{ID: "CVE-2025-22870", Aliases: []string{"GHSA-qxp5-gwg8-xv66", "GO-2025-3503"}, Severity: finding.SeverityMedium, Fixed: []string{"0.36.0"}}),
			match(4, vuln.Match{ID: "CVE-2024-35195", Aliases: []string{"GHSA-9wx4-h78v-vm56"}, Severity: finding.SeverityMedium,
				Suppressed: &vuln.Suppression{By: "vex", Status: "not_affected", Rule: "CVE-2024-35195", Reason: "vulnerable_code_not_in_execute_path: verify=False is never used (app.vex.json)"}}),
			match(5, vuln.Match{ID: "GHSA-xxxx-left-pad0", Severity: finding.SeverityUnknown,
				Suppressed: &vuln.Suppression{By: "vex", Status: "fixed", Reason: "patched in vendored copy"}}),
		},
	}
}

func load(t *testing.T, name string) *Set {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := Load(f, name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// suppressions applies s to every match of testReport, giving each match
// ID's suppression status ("" when not suppressed) and reason.
func suppressions(s *Set) map[string]string {
	rep := testReport()
	out := map[string]string{}
	for i := range rep.Matches {
		m := &rep.Matches[i]
		sup := s.Suppress(m, &rep.Result.Packages[i])
		if sup == nil {
			out[m.ID] = ""
			continue
		}
		if sup.By != SuppressedBy {
			out[m.ID] = "wrong By " + sup.By
			continue
		}
		out[m.ID] = sup.Status + " | " + sup.Reason
	}
	return out
}

func TestLoad(t *testing.T) {
	tests := []struct {
		file string
		n    int
		want map[string]string
	}{
		{"openvex-v0.2.0.json", 6, map[string]string{
			// A subcomponent of the image: the package.
			"CVE-2021-44228": "not_affected | vulnerable_code_not_in_execute_path: JNDI lookups are disabled with log4j2.formatMsgNoLookups=true (openvex-v0.2.0.json)",
			// By alias (the match's DSA); a purl without version or qualifiers.
			"CVE-2024-5535": "not_affected | vulnerable_code_not_present (openvex-v0.2.0.json)",
			// By alias; the product found by its purl identifier.
			"CVE-2025-22870": "fixed | patched in our fork (openvex-v0.2.0.json)",
			// under_investigation and affected do not suppress; the
			// qualifiers of the statement's purl must be the package's.
			"CVE-2010-4756":  "",
			"CVE-2024-35195": "",
			// No statement.
			"GHSA-xxxx-left-pad0": "",
		}},
		{"openvex-v0.0.1.json", 1, map[string]string{
			"CVE-2024-5535":       "not_affected | inline_mitigations_already_exist (openvex-v0.0.1.json)",
			"CVE-2010-4756":       "",
			"CVE-2021-44228":      "",
			"CVE-2025-22870":      "",
			"CVE-2024-35195":      "",
			"GHSA-xxxx-left-pad0": "",
		}},
		{"cyclonedx-vex.json", 5, map[string]string{
			// By bom-ref of a nested component, resolved to its purl.
			"CVE-2024-5535": "not_affected | code_not_reachable: ALPN is not used (cyclonedx-vex.json)",
			// By a reference ID; false_positive is not_affected.
			"CVE-2021-44228": "not_affected | false_positive: the jar is a test fixture (cyclonedx-vex.json)",
			// By BOM-Link; resolved is fixed.
			"CVE-2025-22870": "fixed | resolved (cyclonedx-vex.json)",
			// exploitable does not suppress.
			"CVE-2010-4756": "",
			// A range is not evaluated: the entry applies to nothing.
			"CVE-2024-35195":      "",
			"GHSA-xxxx-left-pad0": "",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			s := load(t, tt.file)
			if s.Len() != tt.n {
				t.Errorf("%d statements, want %d", s.Len(), tt.n)
			}
			if diff := cmp.Diff(tt.want, suppressions(s)); diff != "" {
				t.Errorf("suppressions (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSuppressRule: the suppression names the statement's vulnerability.
func TestSuppressRule(t *testing.T) {
	s := load(t, "openvex-v0.2.0.json")
	rep := testReport()
	sup := s.Suppress(&rep.Matches[0], &rep.Result.Packages[0])
	if sup == nil || sup.Rule != "DSA-5725-1" {
		t.Errorf("suppression %+v, want rule DSA-5725-1", sup)
	}
}

func doc(statements string) string {
	return `{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "a", "timestamp": "2025-01-01T00:00:00Z", "version": 1, "statements": [` + statements + `]}`
}

func loadString(t *testing.T, s string) *Set {
	t.Helper()
	set, err := Load(strings.NewReader(s), "test.json")
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestPrecedence: the latest statement about a vulnerability and package
// decides; at the same time, the later one.
func TestPrecedence(t *testing.T) {
	const (
		na  = `{"vulnerability": {"name": "CVE-2021-44228"}, "products": [{"@id": "pkg:maven/org.apache.logging.log4j/log4j-core"}], "status": "not_affected", "justification": "component_not_present"%s}`
		aff = `{"vulnerability": {"name": "GHSA-jfh8-c2jp-5v3q"}, "products": [{"@id": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}], "status": "affected"%s}`
	)
	ts := func(s string) string { return `, "timestamp": "` + s + `"` }
	tests := []struct {
		name       string
		doc        string
		suppressed bool
	}{
		{"not_affected, then affected", doc(strings.Join([]string{sprintf(na, ""), sprintf(aff, "")}, ",")), false},
		{"affected, then not_affected", doc(strings.Join([]string{sprintf(aff, ""), sprintf(na, "")}, ",")), true},
		{"newer affected first", doc(strings.Join([]string{sprintf(aff, ts("2025-02-01T00:00:00Z")), sprintf(na, "")}, ",")), false},
		{"older affected last", doc(strings.Join([]string{sprintf(na, ""), sprintf(aff, ts("2024-12-01T00:00:00Z"))}, ",")), true},
		{"unparsable time is the document's", doc(strings.Join([]string{sprintf(na, ""), sprintf(aff, ts("yesterday"))}, ",")), false},
	}
	rep := testReport()
	m, p := &rep.Matches[2], &rep.Result.Packages[2]
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := loadString(t, tt.doc).Suppress(m, p) != nil
			if got != tt.suppressed {
				t.Errorf("suppressed = %v, want %v", got, tt.suppressed)
			}
		})
	}
	// Merge: the later set wins at equal times.
	a := loadString(t, doc(sprintf(na, "")))
	b := loadString(t, doc(sprintf(aff, "")))
	if Merge(a, b).Suppress(m, p) != nil || Merge(b, a).Suppress(m, p) == nil {
		t.Error("Merge does not let the later set win")
	}
	if n := Merge(a, nil, b).Len(); n != 2 {
		t.Errorf("Merge has %d statements, want 2", n)
	}
	var empty *Set
	if empty.Suppress(m, p) != nil || (&Set{}).Suppress(m, p) != nil {
		t.Error("an empty set suppresses")
	}
}

func sprintf(format, arg string) string { return strings.Replace(format, "%s", arg, 1) }

func TestPURLMatch(t *testing.T) {
	const pkg = "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"
	tests := []struct {
		stmt string
		want bool
	}{
		{"pkg:deb/debian/libssl3", true},
		{"pkg:deb/debian/libssl3@3.0.11-1~deb12u2", true},
		{"pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64", true},
		{"pkg:deb/debian/libssl3@3.0.11-1~deb12u2?distro=debian-12&arch=amd64", true},
		{"pkg:DEB/Debian/LibSSL3", true}, // deb names are case-insensitive
		{"pkg:deb/debian/libssl3?arch=arm64", false},
		{"pkg:deb/debian/libssl3@3.0.11-1~deb12u1", false},
		{"pkg:deb/ubuntu/libssl3", false},
		{"pkg:deb/debian/libssl3#usr/lib", false},
		{"pkg:rpm/debian/libssl3", false},
		{"pkg:deb/debian/libssl", false},
	}
	p, ok := parsePURL(pkg)
	if !ok {
		t.Fatal("fixture purl does not parse")
	}
	for _, tt := range tests {
		s, ok := parsePURL(tt.stmt)
		if !ok {
			t.Errorf("%s does not parse", tt.stmt)
			continue
		}
		if got := purlMatches(s, p); got != tt.want {
			t.Errorf("purlMatches(%s) = %v, want %v", tt.stmt, got, tt.want)
		}
	}
	if _, ok := parsePURL("pkg:" + strings.Repeat("a", maxPURLLen)); ok {
		t.Error("an overlong purl parsed")
	}
}

// TestPackageID: a statement can name a package by Vigil package ID (a
// bom-ref of Vigil's CycloneDX) or Vigil package IRI, also when the
// package is not given.
func TestPackageID(t *testing.T) {
	rep := testReport()
	m := &rep.Matches[5]
	for _, id := range []string{m.PackageID, PackageIRIPrefix + m.PackageID} {
		s := loadString(t, doc(`{"vulnerability": {"name": "GHSA-xxxx-left-pad0"}, "products": [{"@id": "`+id+`"}], "status": "not_affected", "justification": "component_not_present"}`))
		if s.Suppress(m, &rep.Result.Packages[5]) == nil || s.Suppress(m, nil) == nil {
			t.Errorf("%s does not suppress", id)
		}
		if s.Suppress(&rep.Matches[0], &rep.Result.Packages[0]) != nil {
			t.Errorf("%s suppresses another package's match", id)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		in   io.Reader
		err  error
	}{
		{"empty", strings.NewReader(""), ErrUnknownFormat},
		{"array", strings.NewReader(`[{"@context": "https://openvex.dev/ns/v0.2.0"}]`), ErrUnknownFormat},
		{"other JSON", strings.NewReader(`{"spdxVersion": "SPDX-2.3"}`), ErrUnknownFormat},
		{"other context", strings.NewReader(`{"@context": "https://example.invalid/ns"}`), ErrUnknownFormat},
		{"XML", strings.NewReader(`<bom xmlns="http://cyclonedx.org/schema/bom/1.5"/>`), ErrUnknownFormat},
		{"bad JSON", strings.NewReader(`{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [}`), ErrMalformed},
		{"wrong type", strings.NewReader(doc(`{"vulnerability": {"name": 7}, "status": "affected"}`)), ErrMalformed},
		{"no vulnerability", strings.NewReader(doc(`{"products": [{"@id": "pkg:npm/a@1"}], "status": "affected"}`)), ErrMalformed},
		{"bad status", strings.NewReader(doc(`{"vulnerability": {"name": "CVE-1"}, "status": "wontfix"}`)), ErrMalformed},
		{"bad CycloneDX state", strings.NewReader(`{"bomFormat": "CycloneDX", "vulnerabilities": [{"id": "CVE-1", "analysis": {"state": "ignored"}}]}`), ErrMalformed},
		{"CycloneDX without id", strings.NewReader(`{"bomFormat": "CycloneDX", "vulnerabilities": [{"analysis": {"state": "not_affected"}}]}`), ErrMalformed},
		{"too large", io.MultiReader(strings.NewReader(`{"@context": "https://openvex.dev/ns", "x": "`), zeros{}), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.in, "doc.json")
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if !strings.Contains(err.Error(), "doc.json") {
				t.Errorf("error %q does not name the document", err)
			}
		})
	}
}

// zeros is an endless reader.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestWriteOpenVEXGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteOpenVEX(&buf, testReport(), "Shop Platform Team", fixedTime); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "golden", "report.openvex.json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), buf.String()); diff != "" {
		t.Errorf("output differs from %s (-want +got; run go test -update if intended):\n%s", path, diff)
	}
}

// TestRoundTrip: the document WriteOpenVEX writes, loaded, suppresses
// exactly the matches that were suppressed, and no others.
func TestRoundTrip(t *testing.T) {
	rep := testReport()
	var buf bytes.Buffer
	if err := WriteOpenVEX(&buf, rep, "", fixedTime); err != nil {
		t.Fatal(err)
	}
	s := loadString(t, buf.String())
	if s.Len() != len(rep.Matches) {
		t.Errorf("%d statements for %d matches", s.Len(), len(rep.Matches))
	}
	for i := range rep.Matches {
		m := &rep.Matches[i]
		got := s.Suppress(m, &rep.Result.Packages[i])
		switch {
		case m.Suppressed == nil && got != nil:
			t.Errorf("%s: suppressed by %+v after the round trip", m.ID, got)
		case m.Suppressed != nil && got == nil:
			t.Errorf("%s: no longer suppressed", m.ID)
		case got != nil && (got.Status != StatusNotAffected || !strings.Contains(got.Reason, strings.TrimPrefix(m.Suppressed.Reason, VulnerableCodeNotInExecutePath+": "))):
			t.Errorf("%s: suppression %+v does not carry %q", m.ID, got, m.Suppressed.Reason)
		}
	}
	// The justification survives as such.
	if got := s.Suppress(&rep.Matches[4], &rep.Result.Packages[4]); got == nil || !strings.HasPrefix(got.Reason, VulnerableCodeNotInExecutePath+": ") {
		t.Errorf("justification lost: %+v", got)
	}
}

// TestWriteOpenVEXDeterministic: match order does not matter; time changes
// only the timestamp.
func TestWriteOpenVEXDeterministic(t *testing.T) {
	write := func(rep *vuln.Report, now time.Time) string {
		var buf bytes.Buffer
		if err := WriteOpenVEX(&buf, rep, "a", now); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	a := write(testReport(), fixedTime)
	rev := testReport()
	ms := rev.Matches
	for i, j := 0, len(ms)-1; i < j; i, j = i+1, j-1 {
		ms[i], ms[j] = ms[j], ms[i]
	}
	if b := write(rev, fixedTime); a != b {
		t.Error("match order changed the output")
	}
	c := write(testReport(), fixedTime.Add(time.Hour))
	if strings.Replace(c, "2025-03-14T16:09:26Z", "2025-03-14T15:09:26Z", 1) != a {
		t.Error("another time changed more than the timestamp")
	}
	changed := testReport()
	changed.Matches[0].Suppressed = &vuln.Suppression{By: "vex", Reason: "x"}
	if idOf(write(changed, fixedTime)) == idOf(a) {
		t.Error("other content, same @id")
	}
}

func idOf(doc string) string {
	for _, l := range strings.Split(doc, "\n") {
		if strings.Contains(l, `"@id": "`+DocumentIRIPrefix) {
			return l
		}
	}
	return ""
}

// TestWriteOpenVEXSharedPURL: the same package at two paths is one
// product; if either match counts, the statement says affected.
func TestWriteOpenVEXSharedPURL(t *testing.T) {
	rep := testReport()
	p := rep.Result.Packages[2]
	p.Locations = []inventory.Location{{Path: "/other/log4j-core-2.14.1.jar"}}
	p.ComputeID()
	rep.Result.Packages = append(rep.Result.Packages, p)
	m := rep.Matches[2]
	m.PackageID = p.ID
	m.Suppressed = &vuln.Suppression{By: "ignore-file", Reason: "test jar"}
	rep.Matches = append(rep.Matches, m)
	var buf bytes.Buffer
	if err := WriteOpenVEX(&buf, rep, "a", fixedTime); err != nil {
		t.Fatal(err)
	}
	s := loadString(t, buf.String())
	if s.Len() != len(rep.Matches)-1 {
		t.Errorf("%d statements, want %d", s.Len(), len(rep.Matches)-1)
	}
	if s.Suppress(&m, &p) != nil {
		t.Error("the shared statement suppresses")
	}
}

func TestWriteOpenVEXError(t *testing.T) {
	if err := WriteOpenVEX(failWriter{}, testReport(), "a", fixedTime); err == nil {
		t.Error("no error from a failing writer")
	}
	var buf bytes.Buffer
	if err := WriteOpenVEX(&buf, &vuln.Report{}, "a", fixedTime); err != nil || !strings.Contains(buf.String(), `"statements": []`) {
		t.Errorf("empty report: %v\n%s", err, buf.String())
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestWriteOpenVEXSpec checks the OpenVEX v0.2.0 requirements on what
// WriteOpenVEX writes: every statement names a vulnerability and products,
// not_affected has a justification or impact statement, affected an action
// statement; the document has its @id, author, timestamp and version.
func TestWriteOpenVEXSpec(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteOpenVEX(&buf, testReport(), "", fixedTime); err != nil {
		t.Fatal(err)
	}
	var d openVEXDoc
	if err := json.Unmarshal(buf.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	if d.Context != OpenVEXContext || !strings.HasPrefix(d.ID, DocumentIRIPrefix) || d.Author != "Vigil" || d.Version != 1 {
		t.Errorf("document header %q %q %q %d", d.Context, d.ID, d.Author, d.Version)
	}
	if _, err := time.Parse(time.RFC3339, d.Timestamp); err != nil {
		t.Errorf("timestamp: %v", err)
	}
	for i, s := range d.Statements {
		if s.Vulnerability.Name == "" || len(s.Products) == 0 || s.Products[0].ID == "" {
			t.Errorf("statement %d lacks a vulnerability or product: %+v", i, s)
		}
		switch s.Status {
		case StatusNotAffected:
			if s.Justification == "" && s.ImpactStatement == "" {
				t.Errorf("statement %d: not_affected without justification or impact statement", i)
			}
			if s.Justification != "" && !slices.Contains(justifications, s.Justification) {
				t.Errorf("statement %d: unknown justification %q", i, s.Justification)
			}
		case StatusAffected:
			if s.ActionStatement == "" {
				t.Errorf("statement %d: affected without action statement", i)
			}
		default:
			t.Errorf("statement %d: status %q", i, s.Status)
		}
	}
}
