package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRulesCommand(t *testing.T) {
	dir := t.TempDir()
	good := `rules:
  - id: U-RT-1
    title: my shell rule
    severity: high
    kinds: [exec]
    condition: process.name in shells && container != null
    tests:
      - {name: fires, expect: fire, event: {process: {name: bash}, container: {id: c}}}
      - {name: quiet, expect: quiet, event: {process: {name: bash}}}
`
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tests := []struct {
		name    string
		args    []string
		want    string
		wantErr error
	}{
		{"list builtin", []string{"rules", "list"}, "VGL-RT-001", nil},
		{"list markdown", []string{"rules", "list", "--format", "markdown", "--rules", dir}, "| U-RT-1 |", nil},
		{"test passes", []string{"rules", "test", dir}, "1 rules, 2 tests, 0 failed", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runCLI(t, now, tc.args...)
			if !errors.Is(err, tc.wantErr) || !strings.Contains(out, tc.want) {
				t.Fatalf("err %v, output:\n%s", err, out)
			}
		})
	}
	bad := strings.Replace(good, "expect: quiet", "expect: fire", 1)
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, now, "rules", "test", dir)
	if !errors.Is(err, ErrTestsFailed) || !strings.Contains(out, `FAIL U-RT-1 "quiet"`) {
		t.Fatalf("err %v, output:\n%s", err, out)
	}
}
