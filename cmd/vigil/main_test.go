package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vigil-sec/vigil/internal/cli"
)

var update = flag.Bool("update", false, "rewrite testdata/scripts/*.ct with the actual output")

// TestScripts runs every testdata/scripts/*.ct file. A script is a series of
// blocks: a line "$ vigil ARGS" runs vigil in-process (with the working
// directory of this package and a fixed clock), the lines after it are the
// expected stdout and stderr, and a final "[exit N]" line the exit code.
// Lines starting with "#" before a command are comments.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/scripts/*.ct")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".ct"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var want, got strings.Builder
			for _, blk := range parseScript(string(data)) {
				want.WriteString(blk.raw)
				got.WriteString(blk.prefix)
				got.WriteString(runBlock(t, blk.args))
			}
			if *update {
				if err := os.WriteFile(file, []byte(got.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if d := cmp.Diff(want.String(), got.String()); d != "" {
				t.Errorf("%s mismatch (-want +got); rerun with -update if intended:\n%s", file, d)
			}
		})
	}
}

type block struct {
	prefix string // comments and the "$ ..." line
	args   []string
	raw    string // the whole block as written
}

func parseScript(s string) []block {
	var out []block
	var cur *block
	for _, line := range strings.SplitAfter(s, "\n") {
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "#") && (cur == nil || cur.args != nil && strings.HasSuffix(strings.TrimRight(cur.raw, "\n"), "]")) {
			out = append(out, block{})
			cur = &out[len(out)-1]
			cur.prefix += line
			cur.raw += line
			continue
		}
		if strings.HasPrefix(line, "$ vigil") {
			if cur == nil || cur.args != nil {
				out = append(out, block{})
				cur = &out[len(out)-1]
			}
			cur.prefix += line
			cur.raw += line
			cur.args = strings.Fields(strings.TrimPrefix(line, "$ vigil"))
			if cur.args == nil {
				cur.args = []string{}
			}
			continue
		}
		if cur != nil {
			cur.raw += line
		}
	}
	return out
}

func runBlock(t *testing.T, args []string) string {
	var stdout, stderr bytes.Buffer
	env := &cli.Env{
		Stdin:   strings.NewReader(""),
		Stdout:  &stdout,
		Stderr:  &stderr,
		Version: "test",
		Now:     func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
	}
	code := run(context.Background(), env, args)
	return scrub(t, stdout.String()+stderr.String()) + fmt.Sprintf("[exit %d]\n", code)
}

// pathIDs are asset IDs derived from absolute paths, which differ per checkout.
var pathIDs = regexp.MustCompile(`\b(rootfs|directory):[0-9a-f]{16}\b`)

// sbomDigests are digests of SBOMs that embed such IDs.
var sbomDigests = regexp.MustCompile(`(Asset: +sbom .*\nDigest: +)sha256:[0-9a-f]{64}`)

// scrub replaces what depends on where the repository is checked out.
func scrub(t *testing.T, s string) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	s = strings.ReplaceAll(s, wd, "$PWD")
	s = sbomDigests.ReplaceAllString(s, "${1}<sbom-digest>")
	return pathIDs.ReplaceAllString(s, "$1:<path-id>")
}
