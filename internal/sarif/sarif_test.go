package sarif_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/sarif"
	"github.com/vigil-sec/vigil/internal/sarif/sariftest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden files")

var tool = sarif.Tool{Name: "vigil", Version: "0.1.0-test", InformationURI: "https://vigil.invalid/"}

// sample is what a misconfiguration engine and a secret scanner might
// report: lines, logical locations, an in-source suppression, properties.
func sample() ([]sarif.Rule, []sarif.Result) {
	rules := []sarif.Rule{
		{
			ID: "VGL-K8S-001", Name: "PrivilegedContainer",
			ShortDescription: "Container runs privileged",
			FullDescription:  "A privileged container has every capability of the host.",
			HelpURI:          "https://vigil.invalid/rules/VGL-K8S-001",
			Help:             "Set securityContext.privileged to false.",
			HelpMarkdown:     "Set `securityContext.privileged` to `false`.",
			DefaultLevel:     sarif.LevelError,
			Properties:       map[string]any{sarif.SecuritySeverityProperty: "8.0", "tags": []string{"security", "kubernetes"}},
		},
		{
			ID: "VGL-SECRET-AWS", ShortDescription: "AWS access key",
			DefaultLevel: sarif.LevelError,
			Properties:   map[string]any{sarif.SecuritySeverityProperty: sarif.SecuritySeverity(9.5)},
		},
		{ID: "VGL-DOCKER-007", ShortDescription: "Image runs as root"},
	}
	results := []sarif.Result{
		{
			RuleID: "VGL-K8S-001", Message: "Deployment web runs a privileged container \"app\".",
			Locations:    []sarif.Location{{URI: "deploy/web.yaml", StartLine: 21, EndLine: 24, LogicalName: "Deployment/web", LogicalKind: "resource"}},
			Fingerprints: map[string]string{"vigil/finding/v1": "f-0001"},
		},
		{
			RuleID: "VGL-K8S-001", Level: sarif.LevelWarning, Message: "CronJob backup runs a privileged container.",
			Locations:    []sarif.Location{{URI: "deploy/backup job.yaml", StartLine: 9}},
			Fingerprints: map[string]string{"vigil/finding/v1": "f-0002"},
			Suppressions: []sarif.Suppression{{Kind: sarif.KindInSource, Justification: "needs raw sockets; reviewed"}},
		},
		{
			RuleID: "VGL-SECRET-AWS", Message: "AWS access key AKIA…XYZ1 (redacted).",
			Locations:  []sarif.Location{{URI: "config/.env", StartLine: 3}},
			Properties: map[string]any{"entropy": 4.1, "redacted": true},
		},
		{
			RuleID: "VGL-DOCKER-007", Level: sarif.LevelNote, Message: "The image's user is root.",
			Locations: []sarif.Location{{LogicalName: "registry.example/shop/api:1.4.2", LogicalKind: "module"}},
		},
	}
	return rules, results
}

func write(t *testing.T, rules []sarif.Rule, results []sarif.Result) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := sarif.Write(&buf, tool, rules, results); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWriteGolden(t *testing.T) {
	rules, results := sample()
	got := write(t, rules, results)
	golden(t, filepath.Join("testdata", "golden", "sample.sarif"), got)
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
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

// TestWriteDeterministic: the order of rules and results does not matter,
// and Write leaves them as they were.
func TestWriteDeterministic(t *testing.T) {
	rules, results := sample()
	want := write(t, rules, results)
	r2, res2 := slices.Clone(rules), slices.Clone(results)
	slices.Reverse(r2)
	slices.Reverse(res2)
	before := slices.Clone(res2)
	if got := write(t, r2, res2); !bytes.Equal(got, want) {
		t.Errorf("reordered input gave other output:\n%s", cmp.Diff(string(want), string(got)))
	}
	if res2[0].RuleID != before[0].RuleID || res2[0].Message != before[0].Message {
		t.Error("Write reordered the caller's results")
	}
}

func TestWriteSchema(t *testing.T) {
	rules, results := sample()
	tests := map[string][]byte{
		"sample": write(t, rules, results),
		"empty":  write(t, nil, nil),
		"rules only, no tool version": func() []byte {
			var buf bytes.Buffer
			if err := sarif.Write(&buf, sarif.Tool{Name: "vigil"}, rules, nil); err != nil {
				t.Fatal(err)
			}
			return buf.Bytes()
		}(),
	}
	for name, doc := range tests {
		t.Run(name, func(t *testing.T) { sariftest.Validate(t, doc) })
	}
}

// TestWriteShape checks what the schema does not: rule indexes point at
// their rules, and results without a level take the rule's.
func TestWriteShape(t *testing.T) {
	var log struct {
		Version string
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string
					Rules []struct{ ID string }
				}
			}
			Results []struct {
				RuleID    string
				RuleIndex int
				Level     string
			}
		}
	}
	rules, results := sample()
	if err := json.Unmarshal(write(t, rules, results), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 || log.Runs[0].Tool.Driver.Name != "vigil" {
		t.Fatalf("version %q, %d runs", log.Version, len(log.Runs))
	}
	run := log.Runs[0]
	if len(run.Results) != 4 {
		t.Fatalf("%d results, want 4", len(run.Results))
	}
	for _, r := range run.Results {
		if r.RuleIndex < 0 || r.RuleIndex >= len(run.Tool.Driver.Rules) || run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result of %s has ruleIndex %d", r.RuleID, r.RuleIndex)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	rule := sarif.Rule{ID: "R1"}
	res := sarif.Result{RuleID: "R1", Message: "m"}
	tests := []struct {
		name    string
		tool    sarif.Tool
		rules   []sarif.Rule
		results []sarif.Result
	}{
		{"no tool name", sarif.Tool{}, nil, nil},
		{"rule without ID", tool, []sarif.Rule{{}}, nil},
		{"duplicate rule", tool, []sarif.Rule{rule, rule}, nil},
		{"bad default level", tool, []sarif.Rule{{ID: "R1", DefaultLevel: "fatal"}}, nil},
		{"unknown rule", tool, []sarif.Rule{rule}, []sarif.Result{{RuleID: "R2", Message: "m"}}},
		{"bad level", tool, []sarif.Rule{rule}, []sarif.Result{{RuleID: "R1", Message: "m", Level: "high"}}},
		{"no message", tool, []sarif.Rule{rule}, []sarif.Result{{RuleID: "R1"}}},
		{"bad suppression kind", tool, []sarif.Rule{rule}, []sarif.Result{{RuleID: "R1", Message: "m", Suppressions: []sarif.Suppression{{Kind: "vex"}}}}},
		{"bad suppression status", tool, []sarif.Rule{rule}, []sarif.Result{{RuleID: "R1", Message: "m", Suppressions: []sarif.Suppression{{Kind: sarif.KindExternal, Status: "ok"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := sarif.Write(&buf, tt.tool, tt.rules, tt.results)
			if !errors.Is(err, sarif.ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
			if buf.Len() != 0 {
				t.Error("wrote output despite the error")
			}
		})
	}
	if err := sarif.Write(failWriter{}, tool, []sarif.Rule{rule}, []sarif.Result{res}); err == nil {
		t.Error("no error from a failing writer")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestLevelFor(t *testing.T) {
	want := map[finding.Severity]string{
		finding.SeverityCritical: sarif.LevelError,
		finding.SeverityHigh:     sarif.LevelError,
		finding.SeverityMedium:   sarif.LevelWarning,
		finding.SeverityLow:      sarif.LevelNote,
		finding.SeverityUnknown:  sarif.LevelNote,
	}
	for s, l := range want {
		if got := sarif.LevelFor(s); got != l {
			t.Errorf("LevelFor(%s) = %q, want %q", s, got, l)
		}
	}
}

func TestSecuritySeverity(t *testing.T) {
	for score, want := range map[float64]string{9.8: "9.8", 10: "10.0", 0: "0.0", 7.25: "7.2", 11: "10.0", -1: "0.0"} {
		if got := sarif.SecuritySeverity(score); got != want {
			t.Errorf("SecuritySeverity(%v) = %q, want %q", score, got, want)
		}
	}
	// The stand-in scores fall in GitHub's bands for their severity.
	bands := map[finding.Severity][2]float64{
		finding.SeverityLow: {0.1, 3.9}, finding.SeverityMedium: {4, 6.9},
		finding.SeverityHigh: {7, 8.9}, finding.SeverityCritical: {9, 10},
	}
	for s, b := range bands {
		if got, ok := sarif.SeverityScore(s); !ok || got < b[0] || got > b[1] {
			t.Errorf("SeverityScore(%s) = %v, %v; want within %v", s, got, ok, b)
		}
	}
	if _, ok := sarif.SeverityScore(finding.SeverityUnknown); ok {
		t.Error("SeverityScore(unknown) has a score")
	}
}

// TestURIs: paths are escaped into URI references; absolute URIs are kept.
func TestURIs(t *testing.T) {
	tests := map[string]string{
		"deploy/web.yaml":             "deploy/web.yaml",
		"deploy/backup job.yaml":      "deploy/backup%20job.yaml",
		"c:/weird":                    "./c:/weird",
		"https://example.invalid/a b": "https://example.invalid/a%20b",
		"100%.txt":                    "100%25.txt",
	}
	for in, want := range tests {
		var log struct {
			Runs []struct {
				Results []struct {
					Locations []struct {
						PhysicalLocation struct{ ArtifactLocation struct{ URI string } }
					}
				}
			}
		}
		doc := write(t, []sarif.Rule{{ID: "R"}}, []sarif.Result{{RuleID: "R", Message: "m", Locations: []sarif.Location{{URI: in}}}})
		if err := json.Unmarshal(doc, &log); err != nil {
			t.Fatal(err)
		}
		if got := log.Runs[0].Results[0].Locations[0].PhysicalLocation.ArtifactLocation.URI; got != want {
			t.Errorf("URI %q written as %q, want %q", in, got, want)
		}
		sariftest.Validate(t, doc)
	}
}

// TestSchemaRejects makes sure the schema check has teeth: a log with a
// level SARIF does not know fails it.
func TestSchemaRejects(t *testing.T) {
	s := sariftest.Schema(t)
	rules, results := sample()
	doc := bytes.Replace(write(t, rules, results), []byte(`"level": "warning"`), []byte(`"level": "high"`), 1)
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(v); err == nil {
		t.Error("the schema accepted an unknown level")
	}
}
