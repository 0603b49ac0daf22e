package secret

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var kebab = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// TestDefaultRules checks every built-in rule against its own examples.
// No rule's expression can run on a whole file: the Scanner only hands it
// windows around keyword hits (see TestRegexNeverSeesWholeFile), so rules
// are tested through a Scanner, never by calling Regex directly.
func TestDefaultRules(t *testing.T) {
	rules := DefaultRules()
	if len(rules) < 10 {
		t.Skip("rule tables still being written")
	}
	if len(rules) < 150 {
		t.Errorf("%d default rules, want at least 150", len(rules))
	}
	s, err := NewScanner(rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range rules {
		t.Run(r.ID, func(t *testing.T) {
			if !kebab.MatchString(r.ID) {
				t.Errorf("ID %q is not kebab-case", r.ID)
			}
			if seen[r.ID] {
				t.Errorf("duplicate ID")
			}
			seen[r.ID] = true
			if r.Regex == nil {
				t.Fatal("no Regex")
			}
			long := false
			for _, k := range r.Keywords {
				long = long || len(k) >= 3
			}
			if !long {
				t.Errorf("no keyword of 3+ bytes: %q", r.Keywords)
			}
			if r.Description == "" {
				t.Errorf("no Description")
			}
			if len(r.Examples) == 0 {
				t.Errorf("no Examples")
			}
			for i, ex := range r.Examples {
				got := ofRule(s.Scan([]byte(ex), Location{Path: "example.txt"}), r.ID)
				if len(got) != 1 {
					t.Errorf("Example %d %q: %d findings, want 1", i, ex, len(got))
					continue
				}
				checkRedacted(t, got[0].Redacted)
			}
			for i, ex := range r.NonExamples {
				if got := ofRule(s.Scan([]byte(ex), Location{Path: "example.txt"}), r.ID); len(got) != 0 {
					t.Errorf("NonExample %d %q: %d findings, want 0", i, ex, len(got))
				}
			}
		})
	}
}

// checkRedacted asserts that a Redacted form shows at most six bytes and a
// third of the secret.
func checkRedacted(t testing.TB, red string) {
	t.Helper()
	i := strings.LastIndex(red, "…(")
	if i < 0 || !strings.HasSuffix(red, ")") {
		t.Errorf("Redacted %q is not prefix…(len)", red)
		return
	}
	n, err := strconv.Atoi(red[i+len("…(") : len(red)-1])
	if err != nil {
		t.Errorf("Redacted %q: %v", red, err)
		return
	}
	if i > 6 || i > n/3 {
		t.Errorf("Redacted %q shows %d bytes of a %d byte secret", red, i, n)
	}
}

// TestDefaultRulesRealKeys feeds freshly generated private keys, bare and
// indented in YAML, through the built-in rules: the window must hold a
// whole key block.
func TestDefaultRulesRealKeys(t *testing.T) {
	rules := DefaultRules()
	if len(rules) < 10 {
		t.Skip("rule tables still being written")
	}
	s, err := NewScanner(rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, blk := range []*pem.Block{
		{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)},
		{Type: "EC PRIVATE KEY", Bytes: ecDER},
		{Type: "PRIVATE KEY", Bytes: pkcs8},
	} {
		key := string(pem.EncodeToMemory(blk))
		for name, text := range map[string]string{
			"bare":     key,
			"crlf":     strings.ReplaceAll(key, "\n", "\r\n"),
			"indented": "tls:\n  key: |\n    " + strings.ReplaceAll(strings.TrimSpace(key), "\n", "\n    ") + "\n",
		} {
			t.Run(blk.Type+"/"+name, func(t *testing.T) {
				fs := s.Scan([]byte(text), Location{Path: "key.yaml"})
				if len(fs) == 0 {
					t.Fatalf("no finding")
				}
				for _, f := range fs {
					checkRedacted(t, f.Redacted)
				}
			})
		}
	}
}
