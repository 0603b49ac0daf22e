package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/sarif/sariftest"
)

var configNow = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

// writeTree writes files (name → content) under a new directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// A repository with one problem per format, a suppressed one, and a broken
// file.
var configRepo = map[string]string{
	"infra/variables.tf": `variable "acl" {
  default = "private"
}
`,
	"infra/terraform.tfvars": `acl = "public-read"
`,
	"infra/main.tf": `resource "aws_s3_bucket" "logs" {
  bucket = "logs"
  acl    = var.acl
}

resource "aws_s3_bucket" "site" {
  bucket = "site"
  # vigil:ignore T-ACL static website, public on purpose
  acl    = "public-read"
}

resource "aws_s3_bucket" "private" {
  bucket = "private"
  acl    = "private"
}
`,
	"k8s/web.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
spec:
  template:
    spec:
      containers:
        - name: app
          image: nginx:1.27
          securityContext:
            privileged: true
`,
	"Dockerfile": "FROM alpine:3.20\nRUN apk add curl\n",
	"docker-compose.yml": `services:
  agent:
    image: acme/agent:1.0
    privileged: true
`,
	"cfn/template.yaml": `AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Acl:
    Type: String
    Default: PublicRead
Resources:
  Site:
    Type: AWS::S3::Bucket
    Properties:
      AccessControl: !Ref Acl
`,
	"k8s/broken.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: [unclosed\n",
}

const configRules = `rules:
  - id: T-ACL
    title: Public bucket ACL
    severity: high
    types: [aws_s3_bucket]
    condition: attrs.?acl.orValue("private") in ["public-read", "public-read-write"]
    path: '"acl"'
  - id: T-PRIV
    title: Privileged container
    severity: critical
    types: [Deployment, Pod]
    each: containers
    condition: item.spec.?securityContext.?privileged.orValue(false)
    path: item.path + ".securityContext.privileged"
  - id: T-USER
    title: Dockerfile without USER
    severity: medium
    types: [Dockerfile]
    condition: '!has(attrs.user)'
  - id: T-COMPOSE
    title: Privileged service
    severity: high
    types: [service]
    condition: attrs.?privileged.orValue(false) == true
    path: '"privileged"'
  - id: T-CFN
    title: Public bucket ACL (CloudFormation)
    severity: low
    types: ["AWS::S3::Bucket"]
    condition: attrs.?AccessControl.orValue("") in ["PublicRead", "PublicReadWrite"]
`

func scanConfigJSON(t *testing.T, dir string, args ...string) (report.ConfigDocument, string, error) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "config.json")
	args = append([]string{"scan", "config", dir, "-f", "json", "-o", out}, args...)
	printed, err := runCLI(t, configNow, args...)
	var doc report.ConfigDocument
	data, rerr := os.ReadFile(out)
	if rerr != nil {
		t.Fatalf("vigil %s: no report (%v): %v\n%s", strings.Join(args, " "), rerr, err, printed)
	}
	if jerr := json.Unmarshal(data, &doc); jerr != nil {
		t.Fatalf("%v\n%s", jerr, data)
	}
	return doc, printed, err
}

func TestScanConfig(t *testing.T) {
	repo := writeTree(t, configRepo)
	rules := writeTree(t, map[string]string{"mine.yaml": configRules})

	doc, printed, err := scanConfigJSON(t, repo, "--rules", rules, "--no-builtin")
	// The broken manifest is reported and the rest is still judged.
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("err = %v, want ErrIncomplete\n%s", err, printed)
	}
	if doc.Complete || len(doc.Problems) != 1 || doc.Problems[0].File != "k8s/broken.yaml" {
		t.Errorf("problems = %+v", doc.Problems)
	}
	got := map[string]string{}
	for _, f := range doc.Findings {
		key := f.RuleID + " " + f.Address
		got[key] = f.Location.File + ":" + f.Location.Range.String() + " " + f.Suppressed
	}
	want := map[string]string{
		"T-ACL aws_s3_bucket.logs":   "infra/main.tf:3 ",
		"T-ACL aws_s3_bucket.site":   "infra/main.tf:9 static website, public on purpose",
		"T-PRIV Deployment/prod/web": "k8s/web.yaml:13 ",
		"T-USER Dockerfile":          "Dockerfile:1-2 ",
		"T-COMPOSE services.agent":   "docker-compose.yml:4 ",
		"T-CFN Site":                 "cfn/template.yaml:7-10 ",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("findings = %v", got)
	}
	if doc.Summary.Findings != 5 || doc.Summary.Suppressed != 1 || doc.Summary.BySeverity["critical"] != 1 {
		t.Errorf("summary = %+v", doc.Summary)
	}

	// --fail-on gates on unsuppressed findings only.
	_, _, err = scanConfigJSON(t, repo, "--rules", rules, "--no-builtin", "--fail-on", "critical")
	var gate *ConfigGateError
	if !errors.As(err, &gate) || gate.Count != 1 || !errors.Is(err, ErrGate) {
		t.Errorf("--fail-on critical: err = %v", err)
	}

	// A baseline accepts today's findings: a second scan with it fails on
	// nothing, until a new problem appears.
	base := filepath.Join(t.TempDir(), "baseline.json")
	if _, _, err := scanConfigJSON(t, repo, "--rules", rules, "--no-builtin", "--write-baseline", base); !errors.Is(err, ErrIncomplete) {
		t.Fatal(err)
	}
	if _, _, err := scanConfigJSON(t, repo, "--rules", rules, "--no-builtin", "--baseline", base, "--fail-on", "low"); !errors.Is(err, ErrIncomplete) {
		t.Errorf("with the baseline: err = %v, want only ErrIncomplete", err)
	}
	if err := os.WriteFile(filepath.Join(repo, "k8s", "pod.yaml"), []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: c\n      image: x:1\n      securityContext: {privileged: true}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := scanConfigJSON(t, repo, "--rules", rules, "--no-builtin", "--baseline", base, "--fail-on", "low"); !errors.As(err, &gate) || gate.Count != 1 {
		t.Errorf("a new finding must fail despite the baseline: err = %v", err)
	}

	// Variables from the command line win over tfvars.
	doc, _, _ = scanConfigJSON(t, repo, "--rules", rules, "--no-builtin", "--var", "acl=private")
	for _, f := range doc.Findings {
		if f.Address == "aws_s3_bucket.logs" {
			t.Errorf("--var acl=private still finds %+v", f)
		}
	}

	// SARIF validates against the 2.1.0 schema and marks the suppression.
	sarifOut := filepath.Join(t.TempDir(), "out.sarif")
	if _, err := runCLI(t, configNow, "scan", "config", repo, "--rules", rules, "--no-builtin", "-f", "sarif", "-o", sarifOut); !errors.Is(err, ErrIncomplete) {
		t.Fatal(err)
	}
	data, err := os.ReadFile(sarifOut)
	if err != nil {
		t.Fatal(err)
	}
	sariftest.Validate(t, data)
	if !strings.Contains(string(data), `"inSource"`) || !strings.Contains(string(data), "static website") {
		t.Error("SARIF lacks the inline suppression")
	}

	// The table names the file and line of each finding.
	table, _ := runCLI(t, configNow, "scan", "config", repo, "--rules", rules, "--no-builtin")
	for _, s := range []string{"T-PRIV", "k8s/web.yaml:13", "INCOMPLETE", "k8s/broken.yaml", "1 suppressed finding"} {
		if !strings.Contains(table, s) {
			t.Errorf("table lacks %q:\n%s", s, table)
		}
	}
}

func TestScanConfigBuiltin(t *testing.T) {
	repo := writeTree(t, map[string]string{"k8s/web.yaml": configRepo["k8s/web.yaml"]})
	doc, printed, err := scanConfigJSON(t, repo)
	if err != nil {
		t.Fatalf("%v\n%s", err, printed)
	}
	found := false
	for _, f := range doc.Findings {
		if f.RuleID == "VGL-K8S-POD-001" && f.Location.Range.StartLine == 13 {
			found = true
		}
	}
	if !found {
		t.Errorf("the built-in privileged-container rule did not fire: %+v", doc.Findings)
	}
}

func TestScanConfigUsage(t *testing.T) {
	for _, args := range [][]string{
		{"scan", "config"},
		{"scan", "config", ".", "-f", "xml"},
		{"scan", "config", ".", "--fail-on", "severe"},
		{"scan", "config", ".", "--var", "novalue"},
		{"scan", "config", ".", "--no-builtin"},
	} {
		_, err := runCLI(t, configNow, args...)
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("vigil %s: err = %v, want a usage error", strings.Join(args, " "), err)
		}
	}
	bad := writeTree(t, map[string]string{"r.yaml": "rules:\n  - id: T-X\n    title: x\n    severity: low\n    types: ['*']\n    condition: 'attrs.('\n"})
	if _, err := runCLI(t, configNow, "scan", "config", bad, "--rules", bad); err == nil || !strings.Contains(err.Error(), "T-X") {
		t.Errorf("a rule that does not compile: err = %v", err)
	}
}

func TestPolicyCommands(t *testing.T) {
	out, err := runCLI(t, configNow, "policy", "list")
	if err != nil || !strings.Contains(out, "VGL-K8S-POD-001") || !strings.Contains(out, "rules") {
		t.Errorf("policy list: %v\n%s", err, out)
	}
	good := writeTree(t, map[string]string{"r.yaml": `rules:
  - id: T-USER
    title: Dockerfile without USER
    severity: medium
    types: [Dockerfile]
    condition: '!has(attrs.user)'
    tests:
      - name: root
        expect: fail
        files: {Dockerfile: "FROM alpine:3.20\n"}
      - name: user
        expect: pass
        files: {Dockerfile: "FROM alpine:3.20\nUSER app\n"}
`})
	out, err = runCLI(t, configNow, "policy", "test", good)
	if err != nil || !strings.Contains(out, "1 rules, 2 tests, 0 failed") {
		t.Errorf("policy test (good): %v\n%s", err, out)
	}
	bad := writeTree(t, map[string]string{"r.yaml": `rules:
  - id: T-USER
    title: Dockerfile without USER
    severity: medium
    types: [Dockerfile]
    condition: 'has(attrs.user)'
    tests:
      - name: root
        expect: fail
        files: {Dockerfile: "FROM alpine:3.20\n"}
`})
	out, err = runCLI(t, configNow, "policy", "test", bad)
	if !errors.Is(err, ErrTestsFailed) || !strings.Contains(out, `FAIL T-USER "root"`) {
		t.Errorf("policy test (bad): %v\n%s", err, out)
	}
}

// TestRulesDocUpToDate: docs/rules.md is what `vigil policy list --format
// markdown` prints (regenerate with: go run ./cmd/vigil policy list
// --format markdown > docs/rules.md).
func TestRulesDocUpToDate(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("..", "..", "docs", "rules.md"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := runCLI(t, configNow, "policy", "list", "--format", "markdown")
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Error("docs/rules.md is stale: regenerate it with `go run ./cmd/vigil policy list --format markdown > docs/rules.md`")
	}
}
