package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/sarif"
	"github.com/vigil-sec/vigil/internal/sarif/sariftest"
	"github.com/vigil-sec/vigil/internal/secret"
)

func secretFixture() *SecretReport {
	return &SecretReport{
		Target: SecretTarget{Kind: "git", Name: "repo"},
		Findings: []secret.Finding{
			{RuleID: "github-pat", Description: "GitHub personal access token", Severity: finding.SeverityHigh,
				Location: secret.Location{Path: "ci.go", Commit: "0123456789abcdef0123456789abcdef01234567"},
				Line:     4, Column: 24, Redacted: "ghp_Gm…(40)", Fingerprint: "aa112233445566778899aabbccddeeff", Suppressed: "inline: revoked"},
			{RuleID: "alibaba-access-key-id", Description: "Alibaba Cloud AccessKey ID", Severity: finding.SeverityHigh,
				Location: secret.Location{Path: "app.env", Commit: "fedcba9876543210fedcba9876543210fedcba98"},
				Line:     2, Column: 29, Redacted: "LTAIeE…(24)", Fingerprint: "0f112233445566778899aabbccddeeff", Paired: "7JIUSe…(30)"},
			{RuleID: "github-pat", Description: "GitHub personal access token", Severity: finding.SeverityHigh,
				Location: secret.Location{Path: "deploy.sh", Commit: "fedcba9876543210fedcba9876543210fedcba98"},
				Line:     3, Column: 21, Redacted: "ghp_tM…(40)", Fingerprint: "bb112233445566778899aabbccddeeff", Suppressed: "baseline"},
		},
		Problems: []secret.Problem{{Path: "big.bin", Err: "too large"}},
		Stats:    SecretStats{Files: 3, Bytes: 300, Blobs: 3, Commits: 2},
	}
}

func TestWriteSecretTable(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSecretTable(&buf, secretFixture()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"Target:   git repo", "Scanned:  3 files, 300 bytes, 2 commits, 3 blobs", "Secrets:  1 (high 1)",
		"app.env:2 (commit fedcba9)", "LTAIeE…(24)", "0f1122334455",
		"2 suppressed findings not shown", "INCOMPLETE: 1 part(s)", "big.bin: too large",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "ghp_") {
		t.Errorf("table shows a suppressed finding:\n%s", out)
	}
}

func TestWriteSecretJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSecretJSON(&buf, secretFixture(), Tool{Name: "vigil", Version: "test"}, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	var doc SecretDocument
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SchemaVersion != SecretSchemaVersion || doc.Complete || doc.Summary.Findings != 1 || doc.Summary.Suppressed != 2 ||
		doc.Summary.BySeverity["high"] != 1 || doc.Summary.BySeverity["critical"] != 0 || len(doc.Findings) != 3 || len(doc.Problems) != 1 {
		t.Errorf("document:\n%s", buf.String())
	}
	// Sorted: same severity, then by path.
	if doc.Findings[0].Path != "app.env" || doc.Findings[2].Path != "deploy.sh" {
		t.Errorf("order: %+v", doc.Findings)
	}
}

func TestWriteSecretSARIF(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSecretSARIF(&buf, secretFixture(), sarif.Tool{Name: "vigil", Version: "test"}); err != nil {
		t.Fatal(err)
	}
	sariftest.Validate(t, buf.Bytes())
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct{ ID string }
				}
			}
			Results []struct {
				RuleID              string
				PartialFingerprints map[string]string
				Suppressions        []struct{ Kind, Justification string }
			}
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if len(run.Tool.Driver.Rules) != 2 || len(run.Results) != 3 {
		t.Fatalf("%d rules, %d results:\n%s", len(run.Tool.Driver.Rules), len(run.Results), buf.String())
	}
	kinds := map[string]string{}
	for _, r := range run.Results {
		fp := r.PartialFingerprints[SecretFingerprintKey]
		if len(fp) != 32 {
			t.Errorf("result %s: fingerprint %q", r.RuleID, fp)
		}
		if len(r.Suppressions) == 1 {
			kinds[fp] = r.Suppressions[0].Kind
		}
	}
	if kinds["aa112233445566778899aabbccddeeff"] != sarif.KindInSource || kinds["bb112233445566778899aabbccddeeff"] != sarif.KindExternal || len(kinds) != 2 {
		t.Errorf("suppressions: %v", kinds)
	}
}
