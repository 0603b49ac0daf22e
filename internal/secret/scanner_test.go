package secret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/finding"
)

// Engine tests use rules of their own, so that they do not depend on the
// rule tables.

const testAlnum = "ABCDEFGHJKLMNPQRSTUVWYZabcdefghijkmnopqrstuvwyz0123456789"

// tok returns n pseudo-random characters, the same for the same seed.
func tok(seed uint64, n int) string {
	r := rand.New(rand.NewPCG(seed, 7))
	for {
		b := make([]byte, n)
		for i := range b {
			b[i] = testAlnum[r.IntN(len(testAlnum))]
		}
		if s := string(b); !isPlaceholder(s) {
			return s
		}
	}
}

func testRules() []*Rule {
	return []*Rule{
		{
			ID: "test-token", Description: "test token", Severity: finding.SeverityHigh,
			Keywords: []string{"vtok_"},
			Regex:    regexp.MustCompile(`vtok_[A-Za-z0-9]{24}`),
			Entropy:  3,
		},
		{
			ID: "test-key-id", Description: "test key id", Severity: finding.SeverityMedium,
			Keywords: []string{"vkid"},
			Regex:    regexp.MustCompile(`\b(VKID[A-Z0-9]{16})\b`),
		},
		{
			ID: "test-key-secret", Description: "test key secret", Severity: finding.SeverityCritical,
			Keywords: []string{"vsecret"},
			Regex:    regexp.MustCompile(`vsecret[ \t]*[:=][ \t]*"?(?P<secret>[A-Za-z0-9/+]{32})`),
			Pair:     "test-key-id", PairLines: 3,
		},
		{
			ID: "test-pem", Description: "test private key", Severity: finding.SeverityCritical,
			Keywords: []string{"-----begin test"},
			Regex:    regexp.MustCompile(`(?s)-----BEGIN TEST PRIVATE KEY-----\r?\n.+?\n[ \t]*-----END TEST PRIVATE KEY-----`),
		},
		{
			ID: "test-near", Description: "needs a keyword near", Severity: finding.SeverityLow,
			Keywords: []string{"nearkw"},
			Regex:    regexp.MustCompile(`\b(NEAR[0-9a-f]{16})\b`),
		},
		{
			ID: "test-validated", Description: "validated", Severity: finding.SeverityLow,
			Keywords: []string{"vval"},
			Regex:    regexp.MustCompile(`vval-([A-Za-z0-9]{12})`),
			Validate: func(s string) bool { return strings.HasPrefix(s, "ok") },
		},
	}
}

func newTestScanner(t testing.TB, extra ...*Rule) *Scanner {
	t.Helper()
	s, err := NewScanner(append(testRules(), extra...), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func scanString(t testing.TB, s *Scanner, path, text string) []Finding {
	t.Helper()
	return s.Scan([]byte(text), Location{Path: path})
}

func ofRule(fs []Finding, id string) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.RuleID == id {
			out = append(out, f)
		}
	}
	return out
}

func TestScanToken(t *testing.T) {
	s := newTestScanner(t)
	secret := "vtok_" + tok(1, 24)
	text := "package main\n\n// config\n  const T = \"" + secret + "\"\n"
	fs := scanString(t, s, "main.go", text)
	if len(fs) != 1 {
		t.Fatalf("got %d findings, want 1: %+v", len(fs), fs)
	}
	f := fs[0]
	if f.RuleID != "test-token" || f.Line != 4 || f.Column != 14 || f.Path != "main.go" || f.Severity != finding.SeverityHigh {
		t.Errorf("finding = %+v, want test-token at 4:14 in main.go", f)
	}
	if want := "vtok_" + secret[5:6] + "…(29)"; f.Redacted != want {
		t.Errorf("Redacted = %q, want %q", f.Redacted, want)
	}
	if f.Fingerprint != fingerprint("test-token", secret) || len(f.Fingerprint) != 32 {
		t.Errorf("Fingerprint = %q", f.Fingerprint)
	}
	j, _ := json.Marshal(fs)
	if bytes.Contains(j, []byte(secret[5:])) {
		t.Errorf("finding JSON holds the secret: %s", j)
	}
	// Same secret elsewhere: same fingerprint, other position.
	other := s.Scan([]byte("x\r\ny\r\nT="+secret), Location{Path: "other/file.txt", Commit: "abc"})
	if len(other) != 1 || other[0].Fingerprint != f.Fingerprint || other[0].Line != 3 || other[0].Column != 3 {
		t.Errorf("other = %+v", other)
	}
	// Case-insensitive keywords.
	if fs := scanString(t, s, "a", "VTOK_"+tok(1, 24)); len(fs) != 0 {
		t.Errorf("uppercase keyword with case-sensitive regex: %+v", fs)
	}
	if fs := scanString(t, s, "a", "id VkId"+strings.ToUpper(tok(2, 16))+"\n"); len(fs) != 0 {
		t.Errorf("mixed case id matched a case-sensitive regex: %+v", fs)
	}
}

func TestScanSecretGroup(t *testing.T) {
	s := newTestScanner(t)
	id := "VKID" + strings.ToUpper(tok(3, 16))
	sec := tok(4, 32)
	fs := scanString(t, s, "c.ini", "key = "+id+"\nvsecret = \""+sec+"\"\n")
	got := ofRule(fs, "test-key-secret")
	if len(got) != 1 {
		t.Fatalf("findings %+v", fs)
	}
	if got[0].Column != 12 || got[0].Fingerprint != fingerprint("test-key-secret", sec) {
		t.Errorf("named group not used: %+v", got[0])
	}
	ids := ofRule(fs, "test-key-id")
	if len(ids) != 1 || ids[0].Fingerprint != fingerprint("test-key-id", id) || ids[0].Column != 7 {
		t.Errorf("group 1 not used: %+v", ids)
	}
	if got[0].Paired != ids[0].Redacted {
		t.Errorf("Paired = %q, want %q", got[0].Paired, ids[0].Redacted)
	}
}

func TestScanPairing(t *testing.T) {
	s := newTestScanner(t)
	id := "VKID" + strings.ToUpper(tok(5, 16))
	sec := "vsecret: " + tok(6, 32)
	tests := []struct {
		name string
		text string
		want int // findings of test-key-secret
		ids  int
	}{
		{"alone", sec + "\n", 0, 0},
		{"same line", id + " " + sec + "\n", 1, 1},
		{"id after", sec + "\n\n\n" + id + "\n", 1, 1},
		{"id before", id + "\n\n\n" + sec + "\n", 1, 1},
		{"too far", id + strings.Repeat("\n", 4) + sec + "\n", 0, 1},
		{"id placeholder", "VKIDXXXXXXXXXXXXXXXX\n" + sec + "\n", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := scanString(t, s, "f", tt.text)
			if got := len(ofRule(fs, "test-key-secret")); got != tt.want {
				t.Errorf("secret findings = %d, want %d: %+v", got, tt.want, fs)
			}
			if got := len(ofRule(fs, "test-key-id")); got != tt.ids {
				t.Errorf("id findings = %d, want %d", got, tt.ids)
			}
		})
	}
}

func pemKey(seed uint64, lines int, eol string) string {
	var b strings.Builder
	b.WriteString("-----BEGIN TEST PRIVATE KEY-----" + eol)
	for i := range lines {
		b.WriteString(tok(seed+uint64(i), 64) + eol)
	}
	b.WriteString("-----END TEST PRIVATE KEY-----" + eol)
	return b.String()
}

func TestScanMultilineKey(t *testing.T) {
	s := newTestScanner(t)
	for _, eol := range []string{"\n", "\r\n"} {
		for _, n := range []int{1, 25, 100} {
			t.Run(fmt.Sprintf("%q/%d", eol, n), func(t *testing.T) {
				key := pemKey(uint64(n), n, eol)
				text := "a" + eol + "b" + eol + "key: |" + eol + "  " + strings.ReplaceAll(key, eol, eol+"  ")
				fs := scanString(t, s, "values.yaml", text)
				if len(fs) != 1 || fs[0].RuleID != "test-pem" || fs[0].Line != 4 || fs[0].Column != 3 {
					t.Fatalf("findings = %+v", fs)
				}
			})
		}
	}
	// A key larger than the window is not found, rather than searched for
	// across the whole file.
	if fs := scanString(t, s, "k", pemKey(9, 600, "\n")); len(fs) != 0 {
		t.Errorf("oversized key: %+v", fs)
	}
}

func TestScanWindow(t *testing.T) {
	s := newTestScanner(t)
	v := "NEAR" + "0f3a9c1e7b2d5a48"
	for _, tt := range []struct {
		gap  int
		want int
	}{{0, 1}, {1, 1}, {2, 0}, {10, 0}} {
		t.Run(strconv.Itoa(tt.gap), func(t *testing.T) {
			// Keyword before, value after.
			text := "nearkw:\n" + strings.Repeat("filler line\n", tt.gap) + v + "\n"
			if got := len(scanString(t, s, "f", text)); got != tt.want {
				t.Errorf("after: %d findings, want %d", got, tt.want)
			}
			text = v + "\n" + strings.Repeat("filler line\n", tt.gap) + "# nearkw\n"
			if got := len(scanString(t, s, "f", text)); got != tt.want {
				t.Errorf("before: %d findings, want %d", got, tt.want)
			}
		})
	}
}

// TestRegexNeverSeesWholeFile makes the design visible: a rule whose
// expression matches all it is given reports the window, not the file.
func TestRegexNeverSeesWholeFile(t *testing.T) {
	all := &Rule{ID: "test-all", Keywords: []string{"zzkw"}, Regex: regexp.MustCompile(`(?s)\A.*\z`)}
	s := newTestScanner(t, all)
	filler := strings.Repeat("the quick brown fox jumps over the lazy dog\n", 25000) // ~1 MiB
	text := filler + "zzkw\n" + filler
	fs := scanString(t, s, "f", text)
	if len(fs) != 1 {
		t.Fatalf("findings = %+v", fs)
	}
	for _, f := range fs {
		n, _ := strconv.Atoi(f.Redacted[strings.LastIndexByte(f.Redacted, '(')+1 : len(f.Redacted)-1])
		if n == 0 || n > 2*multilineBytes+len("zzkw") {
			t.Errorf("%s saw %d bytes of a %d byte file", f.RuleID, n, len(text))
		}
	}
}

func TestScanDedup(t *testing.T) {
	s := newTestScanner(t)
	secret := "vtok_" + tok(11, 24)
	tests := []struct {
		text string
		want int
	}{
		{secret + " " + secret + "\n", 1},
		{secret + "\n" + secret + "\n", 2},
		{"vtok_ vtok_ vtok_ " + secret + " vtok_\n", 1},
		{strings.Repeat("vtok_\n", 50) + secret + "\n" + strings.Repeat("vtok_\n", 50), 1},
	}
	for i, tt := range tests {
		if got := len(scanString(t, s, "f", tt.text)); got != tt.want {
			t.Errorf("%d: %d findings, want %d", i, got, tt.want)
		}
	}
}

func TestScanPlaceholders(t *testing.T) {
	s := newTestScanner(t)
	for _, v := range []string{
		"vtok_EXAMPLEa8F3kq9Zr2mT5vW7nB1", "vtok_a8F3kq9Zxxxxr2mT5vW7nB1cD4",
		"vtok_aaaaaaaaaaaaaaaaaaaaaaaa", "vtok_1234567890Qw3rTzP9kLmN8v",
		"vtok_abcdefghQ8w3rTzP9kLmN8v2", "vtok_yourTokenGoesHereQ8w3rTz",
		"vtok_changemeQ8w3rTzP9kLmN8v2", "vtok_DummyQ8w3rTzP9kLmN8v2bbb",
		"vtok_a8F3kq9ZplaceholderT5vW7", "vtok_sampleQ8w3rTzP9kLmN8v2bb",
	} {
		if fs := scanString(t, s, "f", "t = "+v+"\n"); len(fs) != 0 {
			t.Errorf("%s: %+v", v, fs)
		}
	}
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"test", true}, {"TEST", true}, {"testosterone9Q", false},
		{"${API_KEY}", true}, {"{{ .Values.token }}", true}, {"<your-token>", true}, {"<token>", true},
		{"%s", true}, {"xXxX", false}, {"XXXXXXXX", true}, {"****", true},
		{"fedcba", true}, {"abcd", true}, {"aZ3q9Lm2Pk8w", false}, {"", true},
		{"sha512-Q3Ww+z9l", true}, {"09876Q", false}, {"987654", true},
	} {
		if got := isPlaceholder(tt.in); got != tt.want {
			t.Errorf("isPlaceholder(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestScanEntropyAndValidate(t *testing.T) {
	s := newTestScanner(t)
	low := "vtok_abababababababababababab"
	if fs := scanString(t, s, "f", low); len(fs) != 0 {
		t.Errorf("low entropy: %+v", fs)
	}
	if fs := scanString(t, s, "f", "vval-ok"+tok(12, 10)+" vval-no"+tok(13, 10)); len(fs) != 1 || fs[0].Column != 6 {
		t.Errorf("validate: %+v", fs)
	}
	if h := shannon("aaaa"); h != 0 {
		t.Errorf("shannon(aaaa) = %v", h)
	}
	if h := shannon("abcd"); h != 2 {
		t.Errorf("shannon(abcd) = %v", h)
	}
}

func TestInlineIgnore(t *testing.T) {
	s := newTestScanner(t)
	secret := "vtok_" + tok(21, 24)
	fp := fingerprint("test-token", secret)
	tests := []struct {
		name, text, want string
	}{
		{"same line", "t = " + secret + " # vigil:ignore test-token fixture for the parser\n", "inline: fixture for the parser"},
		{"previous line", "// vigil:ignore test-token rotated 2024\nt = " + secret + "\n", "inline: rotated 2024"},
		{"fingerprint", "<!-- vigil:ignore " + fp + " docs sample -->\nt = " + secret + "\n", "inline: docs sample"},
		{"block comment", "/* vigil:ignore test-token old key */ t = " + secret + "\n", "inline: old key"},
		{"no reason", "t = " + secret + " # vigil:ignore test-token\n", ""},
		{"no reason with closer", "/* vigil:ignore test-token */ t = " + secret + "\n", ""},
		{"other rule", "t = " + secret + " # vigil:ignore test-pem wrong rule\n", ""},
		{"two lines before", "# vigil:ignore test-token too far\n\nt = " + secret + "\n", ""},
		{"line after", "t = " + secret + "\n# vigil:ignore test-token after\n", ""},
		{"not a directive", "t = " + secret + " # vigil:ignored test-token x\n", ""},
		{"crlf", "# vigil:ignore test-token crlf reason\r\nt = " + secret + "\r\n", "inline: crlf reason"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := scanString(t, s, "f", tt.text)
			if len(fs) != 1 {
				t.Fatalf("findings = %+v", fs)
			}
			if fs[0].Suppressed != tt.want {
				t.Errorf("Suppressed = %q, want %q", fs[0].Suppressed, tt.want)
			}
		})
	}
}

func TestBaseline(t *testing.T) {
	s := newTestScanner(t)
	a, b := "vtok_"+tok(31, 24), "vtok_"+tok(32, 24)
	fs := scanString(t, s, "app/config.go", a+"\n"+b+" // vigil:ignore test-token inline wins\n")
	if len(fs) != 2 {
		t.Fatalf("findings = %+v", fs)
	}
	var buf bytes.Buffer
	if err := WriteBaseline(&buf, fs[:1]); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte(a[5:])) {
		t.Fatalf("baseline holds the secret: %s", buf.Bytes())
	}
	bl, err := LoadBaseline(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if bl.Len() != 1 {
		t.Errorf("Len = %d", bl.Len())
	}
	moved := s.Scan([]byte("x = "+a+"\n"+b+"\n"), Location{Path: "moved.go"})
	bl.Apply(moved)
	if moved[0].Suppressed != "baseline" || moved[1].Suppressed != "" {
		t.Errorf("Apply: %+v", moved)
	}
	fs2 := append([]Finding(nil), fs...)
	bl.Apply(fs2)
	if fs2[1].Suppressed != "inline: inline wins" {
		t.Errorf("Apply overrode an inline suppression: %q", fs2[1].Suppressed)
	}
	var nilBaseline *Baseline
	nilBaseline.Apply(fs2)

	for _, bad := range []string{
		``, `[]`, `{"version":2,"fingerprints":[]}`,
		`{"version":1,"fingerprints":[{"fingerprint":"abc"}]}`,
		`{"version":1,"fingerprints":[{"fingerprint":"zz000000000000000000000000000000"}]}`,
	} {
		if _, err := LoadBaseline(strings.NewReader(bad)); !errors.Is(err, ErrBadBaseline) {
			t.Errorf("LoadBaseline(%q) error = %v, want ErrBadBaseline", bad, err)
		}
	}
	ok := `{"version":1,"fingerprints":[{"fingerprint":"` + strings.ToUpper(fs[0].Fingerprint) + `","ruleId":"test-token","path":"x","reason":"accepted"}]}`
	bl, err = LoadBaseline(strings.NewReader(ok))
	if err != nil || bl.Len() != 1 {
		t.Fatalf("LoadBaseline = %v, %v", bl, err)
	}
}

func TestScanBinary(t *testing.T) {
	s := newTestScanner(t)
	secret := "vtok_" + tok(41, 24)
	data := []byte("\x7fELF\x00\x01\x02line\n\xff\xfe" + secret + "\x00\x00rest")
	fs := s.Scan(data, Location{Path: "bin/app"})
	if len(fs) != 1 || fs[0].Line != 2 || fs[0].Column != 3 {
		t.Fatalf("findings = %+v", fs)
	}
	// Non-printable bytes end a run: a secret is not glued across them.
	data = []byte("\x00vtok_" + tok(42, 12) + "\x01" + tok(43, 12))
	if fs := s.Scan(data, Location{Path: "bin/app"}); len(fs) != 0 {
		t.Errorf("glued across binary: %+v", fs)
	}
}

func TestScanLongLinesAndLockFiles(t *testing.T) {
	s := newTestScanner(t)
	secret := "vtok_" + tok(51, 24)
	pad := strings.Repeat("a=1;", 1300) // 5200 bytes
	tests := []struct {
		path, text string
		want       int
	}{
		{"app.js", pad + secret + "\n", 1},
		{"app.min.js", pad + secret + "\n", 0},
		{"app.js.map", pad + secret + "\n", 0},
		{"app.min.js", "x\n" + secret + "\n", 1},
		{"app.js", strings.Repeat("a=1;", 17000) + secret + "\n", 0},
		{"yarn.lock", `  resolved "https://r.example.org/x.tgz#` + secret + "\"\n", 0},
		{"other.lock", `  resolved "https://r.host/x.tgz#` + secret + "\"\n", 1},
		{"package-lock.json", `      "integrity": "` + secret + "\",\n", 0},
		{"image.tar!/app/package-lock.json", `      "integrity": "` + secret + "\",\n", 0},
		{"go.sum", "example.com/m v1.0.0 h1:" + secret + "=\n", 0},
		{"Cargo.lock", `checksum = "` + secret + "\"\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := len(scanString(t, s, tt.path, tt.text)); got != tt.want {
				t.Errorf("%d findings, want %d", got, tt.want)
			}
		})
	}
}

func TestScanCRLF(t *testing.T) {
	s := newTestScanner(t)
	secret := "vtok_" + tok(61, 24)
	fs := scanString(t, s, "w.ini", "[a]\r\nb=c\r\ntoken="+secret+"\r\n")
	if len(fs) != 1 || fs[0].Line != 3 || fs[0].Column != 7 || fs[0].Fingerprint != fingerprint("test-token", secret) {
		t.Fatalf("findings = %+v", fs)
	}
}

func TestScanBoundsAndChunks(t *testing.T) {
	s := newTestScanner(t)
	secret := "vtok_" + tok(71, 24)
	// A keyword straddling the prefilter's chunk boundary.
	for _, d := range []int{-4, -3, -1, 0, 1} {
		text := strings.Repeat(".", prefilterChunk+d) + secret
		fs := scanString(t, s, "f", text)
		if len(fs) != 1 || fs[0].Column != prefilterChunk+d+1 {
			t.Errorf("offset %d: %+v", d, fs)
		}
	}
	small, err := NewScanner(testRules(), Options{MaxFileSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	if fs := small.Scan([]byte(strings.Repeat(" ", 100)+secret), Location{}); len(fs) != 0 {
		t.Errorf("past MaxFileSize: %+v", fs)
	}
	if fs := s.Scan(nil, Location{}); fs != nil {
		t.Errorf("nil input: %+v", fs)
	}
	empty, err := NewScanner(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fs := empty.Scan([]byte(secret), Location{}); fs != nil {
		t.Errorf("no rules: %+v", fs)
	}
}

func TestNewScannerErrors(t *testing.T) {
	re := regexp.MustCompile(`x`)
	tests := []struct {
		name  string
		rules []*Rule
	}{
		{"nil rule", []*Rule{nil}},
		{"no id", []*Rule{{Keywords: []string{"abc"}, Regex: re}}},
		{"duplicate", []*Rule{{ID: "a", Keywords: []string{"abc"}, Regex: re}, {ID: "a", Keywords: []string{"abc"}, Regex: re}}},
		{"no regex", []*Rule{{ID: "a", Keywords: []string{"abc"}}}},
		{"short keyword", []*Rule{{ID: "a", Keywords: []string{"ab"}, Regex: re}}},
		{"unknown pair", []*Rule{{ID: "a", Keywords: []string{"abc"}, Regex: re, Pair: "b"}}},
		{"self pair", []*Rule{{ID: "a", Keywords: []string{"abc"}, Regex: re, Pair: "a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewScanner(tt.rules, Options{}); !errors.Is(err, ErrInvalidRule) {
				t.Errorf("err = %v, want ErrInvalidRule", err)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", "…(0)"}, {"ab", "…(2)"}, {"abc", "a…(3)"}, {"abcdefgh", "ab…(8)"},
		{"LTAI5tAbCdEfGhIjKlMnOpQr", "LTAI5t…(24)"}, {"ééééé", "é…(10)"},
	} {
		if got := redact(tt.in); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// benchText returns about size bytes of source-like text with a few
// planted secrets. With hitEvery > 0, one line in about hitEvery mentions
// tokens, passwords or keys, as configuration-heavy code does.
func benchText(size, hitEvery int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	lines := []string{
		"func (s *Server) handle(w http.ResponseWriter, r *http.Request) {",
		"\tif err := s.store.Put(ctx, item); err != nil {",
		"\t\treturn fmt.Errorf(\"put %s: %w\", item.Name, err)",
		"\t}",
		"// Config holds the settings read from the environment.",
		"\tlog.Printf(\"listening on %s\", addr)",
		"  name: web-frontend",
		"  replicas: 3",
		"import { useState } from 'react';",
		"    const total = items.reduce((a, b) => a + b.price, 0);",
	}
	hits := []string{
		"\ttoken := req.Header.Get(\"Authorization\")",
		"  password: ${DB_PASSWORD}",
		"\tapiKey := os.Getenv(\"API_KEY\") // secret from the vault",
		"    client_secret = config.get('oauth', 'client_secret')",
		"  aws_access_key_id: !Ref AccessKey",
	}
	var b bytes.Buffer
	for b.Len() < size {
		if hitEvery > 0 && r.IntN(hitEvery) == 0 {
			b.WriteString(hits[r.IntN(len(hits))])
		} else {
			b.WriteString(lines[r.IntN(len(lines))])
		}
		b.WriteByte('\n')
		if r.IntN(200000) == 0 {
			b.WriteString("token = \"vtok_" + tok(r.Uint64(), 24) + "\"\n")
		}
	}
	return b.Bytes()
}

// BenchmarkScan scans 64 MiB of generated source: "sparse" has a handful
// of keyword hits, "dense" a line naming a password, token or key in every
// 25, each of which wakes about 15 generic rules.
func BenchmarkScan(b *testing.B) {
	s, err := NewScanner(append(testRules(), DefaultRules()...), Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name     string
		hitEvery int
	}{{"sparse", 0}, {"dense", 25}} {
		b.Run(bc.name, func(b *testing.B) {
			data := benchText(64<<20, bc.hitEvery)
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			var n int
			for b.Loop() {
				n = len(s.Scan(data, Location{Path: "bench.go"}))
			}
			b.ReportMetric(float64(n), "findings")
		})
	}
}

func TestScanConcurrent(t *testing.T) {
	s := newTestScanner(t)
	text := []byte("a\nvtok_" + tok(91, 24) + "\n" + pemKey(92, 5, "\n"))
	want := len(s.Scan(text, Location{}))
	done := make(chan int)
	for range 4 {
		go func() { done <- len(s.Scan(text, Location{})) }()
	}
	for range 4 {
		if got := <-done; got != want || want != 2 {
			t.Errorf("concurrent scan: %d findings, want %d (2)", got, want)
		}
	}
}

func TestScanRepeatedKeywordContext(t *testing.T) {
	s := newTestScanner(t)
	v := "NEAR" + "0f3a9c1e7b2d5a48"
	// The second hit's context reaches a line the first hit's does not.
	text := "nearkw\nnearkw\nfiller\n" + v + "\n"
	if fs := scanString(t, s, "f", text); len(fs) != 1 {
		t.Errorf("findings = %+v", fs)
	}
}

func TestScanLongSecretPlaceholders(t *testing.T) {
	s := newTestScanner(t)
	// Kilobytes of key material may hold "your" or "xxxx" by chance.
	key := strings.Replace(pemKey(81, 20, "\n"), "\n", "\nyourXXXX", 2)
	if fs := scanString(t, s, "k.pem", key); len(fs) != 1 {
		t.Errorf("findings = %+v", fs)
	}
	key = strings.Replace(pemKey(82, 20, "\n"), "\n", "\nEXAMPLE", 2)
	if fs := scanString(t, s, "k.pem", key); len(fs) != 0 {
		t.Errorf("findings = %+v", fs)
	}
}

func TestSpansLines(t *testing.T) {
	for _, tt := range []struct {
		re   string
		want bool
	}{
		{`(?s)BEGIN.+?END`, true}, {`BEGIN[\s\S]*END`, true}, {`BEGIN[A-Za-z0-9+/=\s]+END`, true},
		{`key\s*=\s*"([a-z0-9]{32})"`, false}, {`AKIA[0-9A-Z]{16}`, false}, {`a.b`, false},
		{`(?m)^x[^"]*$`, true}, {`(?:^|[^0-9])([0-9]{8}:AA)`, false}, {`(?s)a.b`, false},
	} {
		if got := spansLines(regexp.MustCompile(tt.re)); got != tt.want {
			t.Errorf("spansLines(%s) = %v, want %v", tt.re, got, tt.want)
		}
	}
}
