package redact_test

import (
	"bytes"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/redact"
	"github.com/vigil-sec/vigil/internal/secret"
)

// Fake, format-valid credentials made of random characters.
const (
	awsKeyID = "AKIAQ4HZ7NWKD2RJ5TXM"
	aliKeyID = "LTAIeE03pcLTHu1BwVC7R7d3"
)

func scannerOf(t *testing.T, rules []*secret.Rule) *secret.Scanner {
	t.Helper()
	s, err := secret.NewScanner(rules, secret.Options{})
	if err != nil {
		t.Fatalf("NewScanner: %v", err)
	}
	return s
}

// testRules stand for the built-in ones, so that the handler is tested
// whatever those become (TestDefaultRules checks them).
func testRules() []*secret.Rule {
	return []*secret.Rule{
		{ID: "test-aws-key", Description: "test", Keywords: []string{"akia"}, Regex: regexp.MustCompile(`\b(AKIA[A-Z2-7]{16})\b`)},
		{ID: "test-alibaba-key", Description: "test", Keywords: []string{"ltai"}, Regex: regexp.MustCompile(`\b(LTAI[0-9A-Za-z]{20})\b`)},
	}
}

// TestHandler: a planted key in the message, in string, error and group
// attributes and in WithAttrs reaches the sink only in its redacted form;
// everything else is passed on unchanged.
func TestHandler(t *testing.T) {
	s := scannerOf(t, testRules())
	var buf bytes.Buffer
	log := slog.New(redact.NewHandler(slog.NewTextHandler(&buf, nil), s))
	log = log.With("aws_access_key_id", awsKeyID)
	log.Info("loaded credentials aws_access_key_id="+awsKeyID+" from env",
		"key", "AWS_ACCESS_KEY_ID="+awsKeyID,
		"err", errors.New("denied for "+awsKeyID),
		slog.Group("cfg", "alibaba_access_key_id", aliKeyID),
		"count", 3,
	)
	out := buf.String()
	for _, secret := range []string{awsKeyID, aliKeyID} {
		if strings.Contains(out, secret) {
			t.Errorf("secret %s reached the sink:\n%s", secret, out)
		}
	}
	for _, want := range []string{"AKIAQ4…(20)", "LTAIeE…(24)", "loaded credentials", "from env", "count=3", "cfg.alibaba_access_key_id="} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "AKIAQ4…(20)"); n != 4 {
		t.Errorf("redacted AWS key %d times, want 4:\n%s", n, out)
	}
}

// TestString replaces exactly the secret, wherever it is in the text, with
// a rule of its own so that only the replacement is under test.
func TestString(t *testing.T) {
	s := scannerOf(t, testRules())
	tests := []struct {
		name, in, want string
	}{
		{"clean", "nothing to see here", "nothing to see here"},
		{"empty", "", ""},
		{"aws", "aws_access_key_id = " + awsKeyID + " # prod", "aws_access_key_id = AKIAQ4…(20) # prod"},
		{"second line", "first\naws_access_key_id: " + awsKeyID, "first\naws_access_key_id: AKIAQ4…(20)"},
		{"twice", awsKeyID + "," + awsKeyID, "AKIAQ4…(20),AKIAQ4…(20)"},
		{"multibyte before", "clé → " + awsKeyID + " ✓", "clé → AKIAQ4…(20) ✓"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redact.String(s, tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestDefaultRules: with the built-in rules, which the CLI's logger uses,
// planted AWS, Alibaba and GitHub credentials are logged redacted.
func TestDefaultRules(t *testing.T) {
	s := scannerOf(t, secret.DefaultRules())
	const ghToken = "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"
	var buf bytes.Buffer
	log := slog.New(redact.NewHandler(slog.NewJSONHandler(&buf, nil), s))
	log.Warn("request failed", "url", "https://example.net/?AWS_ACCESS_KEY_ID="+awsKeyID,
		"env", "ALIBABA_CLOUD_ACCESS_KEY_ID="+aliKeyID, "header", "Authorization: token "+ghToken)
	out := buf.String()
	for _, secret := range []string{awsKeyID, aliKeyID, ghToken} {
		if strings.Contains(out, secret) {
			t.Errorf("secret %s reached the sink:\n%s", secret, out)
		}
	}
	for _, want := range []string{"AKIAQ4…(20)", "LTAIeE…(24)", "ghp_tM…(40)", "request failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
