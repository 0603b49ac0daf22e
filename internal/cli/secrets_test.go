package cli

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/vigil-sec/vigil/internal/report"
)

// Fake, format-valid credentials (random characters, a valid checksum): an
// Alibaba Cloud key pair and a GitHub token.
const (
	testAliID     = "LTAIq7RkWm2ZxN9vTb4HcJ5s"
	testAliSecret = "Hq3mZ8vKx2LpW7nR4tYc9bF6dJ1sGe"
	testGitHub    = "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"
	testEnv       = "ALIBABA_CLOUD_ACCESS_KEY_ID=" + testAliID + "\nALIBABA_CLOUD_ACCESS_KEY_SECRET=" + testAliSecret + "\nGITHUB_TOKEN=" + testGitHub + "\n"
)

// scanSecretsJSON runs 'vigil scan secrets ARGS -f json' and decodes the
// document, checking that no planted secret appears in anything printed.
func scanSecretsJSON(t *testing.T, args ...string) report.SecretDocument {
	t.Helper()
	out := filepath.Join(t.TempDir(), "secrets.json")
	args = append([]string{"scan", "secrets"}, append(args, "-f", "json", "-o", out)...)
	printed, err := runCLI(t, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), args...)
	if err != nil {
		t.Fatalf("vigil %s: %v\n%s", strings.Join(args, " "), err, printed)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{testAliID, testAliSecret, testGitHub} {
		if strings.Contains(printed, s) || bytes.Contains(data, []byte(s)) {
			t.Fatalf("a secret was printed in clear:\n%s\n%s", printed, data)
		}
	}
	var doc report.SecretDocument
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if doc.SchemaVersion != report.SecretSchemaVersion || !doc.Complete {
		t.Errorf("schema %q, complete %v, problems %v", doc.SchemaVersion, doc.Complete, doc.Problems)
	}
	return doc
}

// TestScanSecretsGitHistory: a secret committed and then removed is found
// in the history, attributed to the commit that added it.
func TestScanSecretsGitHistory(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skipf("skipping: no git command: %v", err)
	}
	repo := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", repo}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null",
			"GIT_AUTHOR_NAME=Dev", "GIT_AUTHOR_EMAIL=dev@example.com", "GIT_COMMITTER_NAME=Dev", "GIT_COMMITTER_EMAIL=dev@example.com",
			"GIT_AUTHOR_DATE=2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2026-01-01T00:00:00Z")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(repo, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q", "-b", "main")
	write("README.md", "# app\n")
	git("add", ".")
	git("commit", "-q", "-m", "initial")
	write("app.env", "REGION=cn-hangzhou\n"+testEnv)
	git("add", ".")
	git("commit", "-q", "-m", "add credentials")
	added := git("rev-parse", "HEAD")
	if err := os.Remove(filepath.Join(repo, "app.env")); err != nil {
		t.Fatal(err)
	}
	git("add", "-A")
	git("commit", "-q", "-m", "remove credentials")

	// The working tree is clean ...
	if doc := scanSecretsJSON(t, repo); doc.Summary.Findings != 0 {
		t.Errorf("working tree: %d findings, want 0: %+v", doc.Summary.Findings, doc.Findings)
	}
	// ... the history is not.
	doc := scanSecretsJSON(t, "--git", repo)
	if doc.Target.Kind != "git" || doc.Summary.Commits < 2 {
		t.Errorf("target %+v, %d commits scanned", doc.Target, doc.Summary.Commits)
	}
	found := false
	for _, f := range doc.Findings {
		if f.RuleID == "github-pat" && f.Path == "app.env" && f.Commit == added && f.Line == 4 {
			found = true
		}
	}
	if !found {
		t.Errorf("no github-pat finding at app.env:4 of commit %s: %+v", added, doc.Findings)
	}
}

// TestScanSecretsImageLayers: a secret file deleted (whited out) by a later
// layer is still found, attributed to the layer that added it.
func TestScanSecretsImageLayers(t *testing.T) {
	l0 := tarLayer(t, map[string]string{"app/": "", "app/config.env": testEnv, "app/main.sh": "#!/bin/sh\n"})
	l1 := tarLayer(t, map[string]string{"app/.wh.config.env": ""})
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base,
		mutate.Addendum{Layer: l0, History: v1.History{CreatedBy: "COPY app /app"}},
		mutate.Addendum{Layer: l1, History: v1.History{CreatedBy: "RUN rm /app/config.env"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", runtime.GOARCH
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	diff0, err := l0.DiffID()
	if err != nil {
		t.Fatal(err)
	}

	doc := scanSecretsJSON(t, "--image", "oci:"+dir)
	if doc.Target.Kind != "image" || doc.Target.Digest == "" {
		t.Errorf("target %+v", doc.Target)
	}
	found := false
	for _, f := range doc.Findings {
		if f.RuleID == "github-pat" && f.Path == "/app/config.env" && f.Line == 3 &&
			f.Layer == diff0.String() && f.LayerIndex == 0 && f.CreatedBy == "COPY app /app" {
			found = true
		}
	}
	if !found {
		t.Errorf("no github-pat finding at /app/config.env:3 of layer 0 (%s): %+v", diff0, doc.Findings)
	}
}

func tarLayer(t *testing.T, files map[string]string) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range sortedKeys(files) {
		h := &tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)}
		if strings.HasSuffix(n, "/") {
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return static.NewLayer(buf.Bytes(), types.OCIUncompressedLayer)
}

// TestScanSecretsFlags: contradictory flags are usage errors, found before
// any scanning.
func TestScanSecretsFlags(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{dir, "--git", "--image"},
		{dir, "--since", "2026-01-01"},
		{dir, "--git", "--gitignore"},
		{dir, "--format", "cyclonedx"},
		{dir, "--fail-on", "severe"},
		{dir, "--max-file-mb", "0"},
		{},
		{dir, dir},
	} {
		_, err := runCLI(t, time.Now(), append([]string{"scan", "secrets"}, args...)...)
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("scan secrets %v: got %v, want a usage error", args, err)
		}
	}
}

// TestLoggerRedacts: the CLI's logger puts a redacting handler in front of
// its sink.
func TestLoggerRedacts(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLogger(&buf, "info")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("token from env", "GITHUB_TOKEN", testGitHub)
	if out := buf.String(); strings.Contains(out, testGitHub) || !strings.Contains(out, testGitHub[:6]+"…(40)") {
		t.Errorf("log output:\n%s", out)
	}
}
