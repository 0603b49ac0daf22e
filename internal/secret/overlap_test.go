package secret

import (
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/finding"
)

// TestGenericYieldsToSpecific: a secret a specific rule reports is not
// reported again by a generic assignment rule; a secret no specific rule
// knows still is.
func TestGenericYieldsToSpecific(t *testing.T) {
	rules := []*Rule{
		{ID: "test-tok", Description: "test token", Severity: finding.SeverityHigh, Keywords: []string{"tok_"},
			Regex: regexp.MustCompile(`\b(tok_[a-z0-9]{16})\b`)},
		{ID: "test-generic", Description: "generic", Severity: finding.SeverityLow, Tags: []string{"generic"}, Keywords: []string{"token"},
			Regex: regexp.MustCompile(`token\s*=\s*"(?P<secret>[^"]{8,64})"`)},
	}
	s, err := NewScanner(rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := s.Scan([]byte("token = \"tok_q8kp2lmw9xr4vb7z\"\nother_token = \"Zq8Kp2LmW9xR4vB7\"\n"), Location{Path: "a.env"})
	if len(got) != 2 || got[0].RuleID != "test-tok" || got[0].Line != 1 || got[1].RuleID != "test-generic" || got[1].Line != 2 {
		t.Fatalf("findings = %+v, want test-tok on line 1 and test-generic on line 2 only", got)
	}
}

// TestGenericSkipsReferences: URLs, URNs and paths next to "token" are not
// secrets.
func TestGenericSkipsReferences(t *testing.T) {
	s, err := NewScanner(DefaultRules(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		`TokenURL: "https://oauth2.example.net/o/oauth2/token"`,
		`token_type = "urn:ietf:params:oauth:token-type:jwt"`,
		`tokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"`,
	} {
		for _, f := range s.Scan([]byte(line+"\n"), Location{Path: "x.go"}) {
			if strings.HasPrefix(f.RuleID, "generic-") {
				t.Errorf("%s: %s reported %s", line, f.RuleID, f.Redacted)
			}
		}
	}
}
