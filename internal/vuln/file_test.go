package vuln

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/inventory"
)

func TestLoadIgnoreFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "ignore:\n  - id: CVE-2023-0001\n    package: libssl3\n    reason: not reachable\n    expires: 2026-12-31\n")
	s, err := LoadIgnoreFile(good)
	if err != nil {
		t.Fatal(err)
	}
	m := &Match{ID: "CVE-2023-0001"}
	p := debPkg("libssl3", "3.0.11-1~deb12u2", "openssl", "3.0.11-1~deb12u2")
	sup := s.Suppress(m, &p)
	if sup == nil || sup.By != "ignore-file" || sup.Reason != "not reachable" || sup.Expires.Format("2006-01-02T15:04") != "2027-01-01T00:00" {
		t.Errorf("suppression = %+v", sup)
	}
	// The source package name works too; another package does not.
	src := IgnoreFile{Rules: []IgnoreRule{{ID: "cve-2023-0001", Package: "openssl", Reason: "r"}}}
	if src.Suppress(m, &p) == nil {
		t.Error("rule naming the source package did not apply")
	}
	other := pkg(inventory.Npm, "x", "1")
	if src.Suppress(m, &other) != nil {
		t.Error("rule applied to another package")
	}
	// Of two rules, the one lasting longest.
	two, err := ParseIgnoreFile([]byte("ignore:\n- {id: CVE-2023-0001, reason: old, expires: 2020-01-01}\n- {id: CVE-2023-0001, reason: forever}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if sup := two.Suppress(m, &p); sup == nil || sup.Reason != "forever" {
		t.Errorf("suppression = %+v, want the rule without expiry", sup)
	}

	for name, body := range map[string]string{
		"no-reason.yaml":    "ignore:\n  - id: CVE-2023-0001\n",
		"blank-reason.yaml": "ignore:\n  - id: CVE-2023-0001\n    reason: '  '\n",
		"no-id.yaml":        "ignore:\n  - reason: x\n",
		"bad-date.yaml":     "ignore:\n  - id: CVE-2023-0001\n    reason: x\n    expires: next year\n",
		"unknown-key.yaml":  "ignore:\n  - id: CVE-2023-0001\n    reason: x\n    until: 2026-01-01\n",
		"not-yaml.yaml":     "ignore: [",
	} {
		_, err := LoadIgnoreFile(write(name, body))
		if !errors.Is(err, ErrIgnoreFile) {
			t.Errorf("%s: err = %v, want ErrIgnoreFile", name, err)
		}
	}
	if _, err := LoadIgnoreFile(filepath.Join(dir, "missing.yaml")); err == nil || errors.Is(err, ErrIgnoreFile) {
		t.Errorf("missing file: err = %v", err)
	}
	big := write("big.yaml", "ignore:\n"+strings.Repeat("# padding padding padding\n", maxIgnoreFile/20))
	if _, err := LoadIgnoreFile(big); !errors.Is(err, ErrIgnoreFile) {
		t.Errorf("oversized file: err = %v", err)
	}
	empty, err := LoadIgnoreFile(write("empty.yaml", ""))
	if err != nil || empty.Suppress(m, &p) != nil {
		t.Errorf("empty file: %v", err)
	}
}

// FuzzParseIgnoreFile: any bytes parse or fail with ErrIgnoreFile, and a
// parsed file's rules all have an id and a reason.
func FuzzParseIgnoreFile(f *testing.F) {
	f.Add([]byte("ignore:\n  - id: CVE-2023-0001\n    reason: r\n    expires: 2026-12-31\n"))
	f.Add([]byte("ignore: [{id: GHSA-1, package: p, reason: r}]"))
	f.Add([]byte("ignore:\n  - id: x\n"))
	f.Add([]byte("&a [*a, *a]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ig, err := ParseIgnoreFile(b)
		if err != nil {
			if !errors.Is(err, ErrIgnoreFile) {
				t.Fatalf("error %v does not wrap ErrIgnoreFile", err)
			}
			return
		}
		for _, r := range ig.Rules {
			if r.ID == "" || r.Reason == "" {
				t.Fatalf("rule without id or reason: %+v", r)
			}
		}
	})
}
