package secret

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/finding"
)

// The sources are tested with a rule of their own, independent of the
// built-in tables.
const (
	testToken  = "vgltest_4f9x2k7q1m8z3c6v0b5n"
	testRuleID = "test-vigil-token"
)

var testTokenRe = regexp.MustCompile(`vgltest_[a-z0-9]{20}`)

func testRule() *Rule {
	return &Rule{
		ID:          testRuleID,
		Description: "Vigil test token",
		Severity:    finding.SeverityHigh,
		Keywords:    []string{"vgltest_"},
		Regex:       testTokenRe,
		Examples:    []string{"token = " + testToken},
		NonExamples: []string{"token = vgltest_short"},
	}
}

// engines returns the scan functions the sources are tested with: the real
// Scanner, and a stand-in regexp scan so that the plumbing is tested even
// while the engine cannot be built.
func engines(t *testing.T) map[string]scanFunc {
	t.Helper()
	m := map[string]scanFunc{
		"stub": func(data []byte, loc Location) []Finding {
			var fs []Finding
			for _, ix := range testTokenRe.FindAllIndex(data, -1) {
				line := bytes.Count(data[:ix[0]], []byte("\n")) + 1
				fs = append(fs, Finding{RuleID: testRuleID, Location: loc, Line: line})
			}
			return fs
		},
	}
	if s, err := NewScanner([]*Rule{testRule()}, Options{}); err != nil {
		t.Logf("engine: skipping the real Scanner: %v", err)
	} else {
		m["engine"] = s.Scan
	}
	return m
}

// forEngine runs f once per engine; the real one is skipped, with the
// reason, while NewScanner fails.
func forEngine(t *testing.T, f func(t *testing.T, scan scanFunc)) {
	t.Helper()
	es := engines(t)
	for _, name := range []string{"engine", "stub"} {
		t.Run(name, func(t *testing.T) {
			scan, ok := es[name]
			if !ok {
				_, err := NewScanner([]*Rule{testRule()}, Options{})
				t.Skipf("engine not ready: %v", err)
			}
			f(t, scan)
		})
	}
}

func findingPaths(r *Result) []string {
	var ps []string
	for _, f := range r.Findings {
		if f.RuleID == testRuleID {
			ps = append(ps, f.Path)
		}
	}
	return ps
}

func writeFile(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestScanDir(t *testing.T) {
	root := t.TempDir()
	secret := []byte("# config\napi_token = " + testToken + "\n")
	writeFile(t, filepath.Join(root, "a", "app.env"), secret)
	writeFile(t, filepath.Join(root, "ignored", "app.env"), secret)
	writeFile(t, filepath.Join(root, "b", "debug.log"), secret)
	writeFile(t, filepath.Join(root, "b", ".gitignore"), []byte("# nested\n*.log\n"))
	writeFile(t, filepath.Join(root, ".gitignore"), []byte("ignored/\n"))
	writeFile(t, filepath.Join(root, ".git", "config"), secret)
	writeFile(t, filepath.Join(root, "clean.txt"), []byte("nothing here\n"))
	if err := os.Symlink(filepath.Join(root, "a", "app.env"), filepath.Join(root, "link.env")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		o    DirOptions
		want []string
	}{
		{"all", DirOptions{}, []string{"a/app.env", "b/debug.log", "ignored/app.env"}},
		{"gitignore", DirOptions{Gitignore: true}, []string{"a/app.env"}},
	}
	forEngine(t, func(t *testing.T, scan scanFunc) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r, err := scanDir(context.Background(), scan, root, tt.o)
				if err != nil {
					t.Fatal(err)
				}
				if got := findingPaths(r); !slices.Equal(got, tt.want) {
					t.Errorf("findings at %q, want %q", got, tt.want)
				}
				if len(r.Problems) != 0 {
					t.Errorf("problems: %v", r.Problems)
				}
				for _, f := range r.Findings {
					if f.Line != 2 {
						t.Errorf("%s: line %d, want 2", f.Path, f.Line)
					}
				}
			})
		}
	})
}

func TestScanDirMaxFileSize(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "big.txt"), []byte(testToken+"\n"+strings.Repeat("x", 4096)+"\n"+testToken+"\n"))
	forEngine(t, func(t *testing.T, scan scanFunc) {
		r, err := scanDir(context.Background(), scan, root, DirOptions{MaxFileSize: 1024})
		if err != nil {
			t.Fatal(err)
		}
		if got := findingPaths(r); len(got) != 1 {
			t.Errorf("findings at %q, want the first token only", got)
		}
		if len(r.Problems) != 1 || r.Problems[0].Path != "big.txt" {
			t.Errorf("problems %v, want one for big.txt", r.Problems)
		}
	})
}

// zipOf, tarGzOf and gzOf build archives from name → content pairs.
func zipOf(t *testing.T, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for i := 0; i < len(files); i += 2 {
		f, err := w.Create(files[i])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(files[i+1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tarOf(t *testing.T, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	for i := 0; i < len(files); i += 2 {
		if err := w.WriteHeader(&tar.Header{Name: files[i], Mode: 0o644, Size: int64(len(files[i+1])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(files[i+1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzOf(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestScanDirArchive(t *testing.T) {
	root := t.TempDir()
	jar := zipOf(t, "BOOT-INF/application.yml", "spring:\n  token: "+testToken+"\n", "META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
	inner := zipOf(t, "lib/app.jar", string(jar))
	writeFile(t, filepath.Join(root, "release.tar.gz"), gzOf(t, tarOf(t, "./dist/inner.zip", string(inner), "dist/readme.txt", "hello")))
	writeFile(t, filepath.Join(root, "dump.sql.gz"), gzOf(t, []byte("insert into t values ('"+testToken+"');\n")))
	writeFile(t, filepath.Join(root, "plain.tar"), tarOf(t, "etc/app.env", "TOKEN="+testToken+"\n"))
	writeFile(t, filepath.Join(root, "broken.zip"), []byte("PK\x03\x04 not really a zip "+testToken+"\n"))
	deep := "release.tar.gz!/dist/inner.zip!/lib/app.jar!/BOOT-INF/application.yml"
	tests := []struct {
		name         string
		o            DirOptions
		want         []string
		wantProblems []string // paths
	}{
		{"default", DirOptions{},
			[]string{"broken.zip", "dump.sql.gz!/dump.sql", "plain.tar!/etc/app.env", deep},
			[]string{"broken.zip"}},
		{"depth 2", DirOptions{MaxArchiveDepth: 2},
			[]string{"broken.zip", "dump.sql.gz!/dump.sql", "plain.tar!/etc/app.env"},
			[]string{"broken.zip", "release.tar.gz!/dist/inner.zip!/lib/app.jar"}},
		{"no archives", DirOptions{NoArchives: true},
			[]string{"broken.zip", "plain.tar"}, nil},
	}
	forEngine(t, func(t *testing.T, scan scanFunc) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r, err := scanDir(context.Background(), scan, root, tt.o)
				if err != nil {
					t.Fatal(err)
				}
				if got := findingPaths(r); !slices.Equal(got, tt.want) {
					t.Errorf("findings at %q, want %q", got, tt.want)
				}
				var probs []string
				for _, p := range r.Problems {
					probs = append(probs, p.Path)
				}
				if !slices.Equal(probs, tt.wantProblems) {
					t.Errorf("problems %v, want at %q", r.Problems, tt.wantProblems)
				}
			})
		}
	})
}

func TestScanDirArchiveBomb(t *testing.T) {
	root := t.TempDir()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, err := w.Create("zeros.bin")
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	for range 16 { // 16 MiB of zeros deflate to about 16 KiB
		if _, err := f.Write(zeros); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "bomb.zip"), buf.Bytes())
	writeFile(t, filepath.Join(root, "outer.tar.gz"), gzOf(t, tarOf(t, "bomb.zip", buf.String())))
	forEngine(t, func(t *testing.T, scan scanFunc) {
		r, err := scanDir(context.Background(), scan, root, DirOptions{MaxArchiveBytes: 4 << 20})
		if err != nil {
			t.Fatal(err)
		}
		var bombs []string
		for _, p := range r.Problems {
			if strings.Contains(p.Err, "decompression bomb") {
				bombs = append(bombs, p.Path)
			}
		}
		if want := []string{"bomb.zip", "outer.tar.gz!/bomb.zip"}; !slices.Equal(bombs, want) {
			t.Errorf("bomb problems at %q (all: %v), want %q", bombs, r.Problems, want)
		}
		if r.Bytes > 4<<20 {
			t.Errorf("scanned %d bytes, more than the archive limit", r.Bytes)
		}
	})
}

// gitRepo is a scratch repository driven by the git CLI.
type gitRepo struct {
	t   *testing.T
	dir string
}

func newGitRepo(t *testing.T, args ...string) *gitRepo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	g := &gitRepo{t: t, dir: t.TempDir()}
	g.run(append([]string{"init", "-q", "-b", "main"}, args...)...)
	return g
}

func (g *gitRepo) run(args ...string) string {
	g.t.Helper()
	return g.runAt("2024-01-01T00:00:00Z", args...)
}

func (g *gitRepo) runAt(date string, args ...string) string {
	g.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", g.dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Alice", "GIT_AUTHOR_EMAIL=alice@example.com",
		"GIT_COMMITTER_NAME=Alice", "GIT_COMMITTER_EMAIL=alice@example.com",
		"GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date, "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		g.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes files (name → content; "" deletes) and commits at date.
func (g *gitRepo) commit(date, msg string, files ...string) string {
	g.t.Helper()
	for i := 0; i < len(files); i += 2 {
		p := filepath.Join(g.dir, files[i])
		if files[i+1] == "" {
			g.run("rm", "-q", files[i])
			continue
		}
		writeFile(g.t, p, []byte(files[i+1]))
		g.run("add", files[i])
	}
	g.runAt(date, "commit", "-q", "--allow-empty", "-m", msg)
	return g.run("rev-parse", "HEAD")
}

func TestScanGit(t *testing.T) {
	secret := "AWS_PROFILE=prod\nTOKEN=" + testToken + "\n"
	g := newGitRepo(t)
	g.commit("2024-01-01T10:00:00Z", "init", "README.md", "hello\n")
	c2 := g.commit("2024-02-01T10:00:00Z", "add config", "deploy/config.env", secret)
	c3 := g.commit("2024-03-01T10:00:00Z", "remove config", "deploy/config.env", "")
	// The same blob on another branch, later: scanned once, attributed to c2.
	g.run("checkout", "-q", "-b", "other", c2)
	g.commit("2024-04-01T10:00:00Z", "copy", "copy.env", secret)
	g.run("checkout", "-q", "main")
	g.run("tag", "v1", c3)

	forEngine(t, func(t *testing.T, scan scanFunc) {
		t.Run("history", func(t *testing.T) {
			r, err := scanGit(context.Background(), scan, g.dir, GitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Findings) != 1 {
				t.Fatalf("findings %+v, want one", r.Findings)
			}
			f := r.Findings[0]
			want := Location{Path: "deploy/config.env", Commit: c2, Author: "Alice <alice@example.com>", Date: "2024-02-01T10:00:00Z"}
			if f.Location != want || f.Line != 2 {
				t.Errorf("finding at %+v line %d, want %+v line 2", f.Location, f.Line, want)
			}
			if r.Commits != 4 || r.Blobs != 2 || r.Files != 2 {
				t.Errorf("commits %d blobs %d files %d, want 4, 2, 2", r.Commits, r.Blobs, r.Files)
			}
		})
		t.Run("since commit", func(t *testing.T) {
			r, err := scanGit(context.Background(), scan, g.dir, GitOptions{Since: "other"})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Findings) != 0 || r.Commits != 1 {
				t.Errorf("findings %+v, commits %d; want none after branch other, one commit (c3)", r.Findings, r.Commits)
			}
		})
		t.Run("since date", func(t *testing.T) {
			r, err := scanGit(context.Background(), scan, g.dir, GitOptions{Since: "2024-03-15"})
			if err != nil {
				t.Fatal(err)
			}
			// Only the branch commit: its blob is the secret again.
			if len(r.Findings) != 1 || r.Findings[0].Path != "copy.env" || r.Commits != 1 {
				t.Errorf("findings %+v, commits %d; want copy.env only, one commit", r.Findings, r.Commits)
			}
		})
		t.Run("bad since", func(t *testing.T) {
			if _, err := scanGit(context.Background(), scan, g.dir, GitOptions{Since: "--output=/tmp/x"}); err == nil {
				t.Error("no error for an option as since")
			}
		})
		t.Run("bare", func(t *testing.T) {
			bare := filepath.Join(t.TempDir(), "bare.git")
			(&gitRepo{t: t, dir: g.dir}).run("clone", "-q", "--mirror", g.dir, bare)
			r, err := scanGit(context.Background(), scan, bare, GitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := findingPaths(r); !slices.Equal(got, []string{"deploy/config.env"}) {
				t.Errorf("findings at %q", got)
			}
		})
		t.Run("shallow", func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "shallow")
			(&gitRepo{t: t, dir: g.dir}).run("clone", "-q", "--depth", "1", "--branch", "other", "file://"+g.dir, dir)
			r, err := scanGit(context.Background(), scan, dir, GitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// The boundary commit's whole tree counts as added there; of
			// the blob's two paths the first in tree order is named.
			if got := findingPaths(r); !slices.Equal(got, []string{"copy.env"}) {
				t.Errorf("findings at %q", got)
			}
			if r.Commits != 1 {
				t.Errorf("commits %d, want 1", r.Commits)
			}
		})
		t.Run("empty", func(t *testing.T) {
			e := newGitRepo(t)
			r, err := scanGit(context.Background(), scan, e.dir, GitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Commits != 0 || len(r.Findings) != 0 {
				t.Errorf("result %+v, want empty", r)
			}
		})
		t.Run("not a repo", func(t *testing.T) {
			if _, err := scanGit(context.Background(), scan, t.TempDir(), GitOptions{}); err == nil {
				t.Error("no error outside a repository")
			}
		})
		t.Run("max blob size", func(t *testing.T) {
			r, err := scanGit(context.Background(), scan, g.dir, GitOptions{MaxBlobSize: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Findings) != 0 || len(r.Problems) != 1 || r.Problems[0].Path != "deploy/config.env" {
				t.Errorf("findings %+v problems %+v, want one problem for the secret's blob", r.Findings, r.Problems)
			}
		})
	})
}

type layerBytes []byte

func (l layerBytes) open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(l)), nil }

func TestScanLayers(t *testing.T) {
	l0 := tarOf(t, "app/.env", "TOKEN="+testToken+"\n", "app/main.py", "print('hi')\n", "app/lib.zip", string(zipOf(t, "conf.ini", "t="+testToken+"\n")))
	l1 := tarOf(t, "app/.wh..env", "", "app/.wh..wh..opq", "")
	corrupt := tarOf(t, "etc/a.txt", strings.Repeat("a", 2048), "etc/b.txt", testToken)
	corrupt = corrupt[:1000] // truncated inside the first file
	layers := []LayerSource{
		{DiffID: "sha256:l0", Index: 0, CreatedBy: "COPY . /app", Open: layerBytes(l0).open},
		{DiffID: "sha256:l1", Index: 1, CreatedBy: "RUN rm /app/.env", Open: layerBytes(l1).open},
		{DiffID: "sha256:l2", Index: 2, CreatedBy: "RUN broken", Open: layerBytes(corrupt).open},
	}
	forEngine(t, func(t *testing.T, scan scanFunc) {
		r, err := scanLayers(context.Background(), scan, layers, DirOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := []Location{
			{Path: "/app/.env", Layer: "sha256:l0", LayerIndex: 0, CreatedBy: "COPY . /app"},
			{Path: "/app/lib.zip!/conf.ini", Layer: "sha256:l0", LayerIndex: 0, CreatedBy: "COPY . /app"},
		}
		var got []Location
		for _, f := range r.Findings {
			got = append(got, f.Location)
		}
		if !slices.Equal(got, want) {
			t.Errorf("findings at %+v, want %+v", got, want)
		}
		if len(r.Problems) != 1 || !strings.Contains(r.Problems[0].Err, "layer 2 (sha256:l2)") {
			t.Errorf("problems %+v, want one for layer 2", r.Problems)
		}
		if r.Files != 3 {
			t.Errorf("files %d, want 3 (whiteouts skipped)", r.Files)
		}
	})
}
