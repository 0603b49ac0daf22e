package deploy

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/vigil-sec/vigil/internal/fixture"
)

// command runs name with args in dir, returning stdout; a failure carries
// both streams.
func command(ctx context.Context, dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, tail(stdout.String()), tail(stderr.String()))
	}
	return stdout.String(), nil
}

func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}

// requireDocker makes sure a Docker Engine answers, starting one with
// scripts/dockerd.sh when none does and this process may; otherwise the
// test is skipped with the reason (or fails under VIGIL_REQUIRE_FIXTURES).
func requireDocker(t *testing.T, repo string) {
	t.Helper()
	fixture.NeedTool(t, "docker")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := command(ctx, repo, nil, "docker", "info"); err == nil {
		return
	}
	if os.Geteuid() != 0 {
		fixture.Unavailable(t, "no Docker Engine answers and starting one needs root")
	}
	if out, err := command(ctx, repo, nil, "bash", "scripts/dockerd.sh"); err != nil {
		fixture.Unavailable(t, fmt.Sprintf("no Docker Engine: scripts/dockerd.sh failed: %v %s", err, out))
	}
	if _, err := command(ctx, repo, nil, "docker", "info"); err != nil {
		fixture.Unavailable(t, fmt.Sprintf("no Docker Engine after scripts/dockerd.sh: %v", err))
	}
}

// imageSpec is what one target of deploy/Dockerfile must produce.
type imageSpec struct {
	target, binary string
	versionArgs    []string // the arguments that print the version
	user           string
	exposed        []string
	files          map[string]fileSpec // the whole file system
}

type fileSpec struct {
	mode     int64 // permission bits, with setuid/setgid/sticky
	uid, gid int
	dir      bool
}

func baseFiles(extra map[string]fileSpec) map[string]fileSpec {
	files := map[string]fileSpec{
		"etc":              {0o755, 0, 0, true},
		"etc/passwd":       {0o644, 0, 0, false},
		"etc/group":        {0o644, 0, 0, false},
		"tmp":              {0o1777, 0, 0, true},
		"usr":              {0o755, 0, 0, true},
		"usr/local":        {0o755, 0, 0, true},
		"usr/local/bin":    {0o755, 0, 0, true},
		"var":              {0o755, 0, 0, true},
		"var/lib":          {0o755, 0, 0, true},
		"usr/local/bin/%s": {0o755, 0, 0, false},
	}
	maps.Copy(files, extra)
	return files
}

var imageSpecs = []imageSpec{
	{
		target: "server", binary: "vigil", versionArgs: []string{"version"},
		user: "65532:65532", exposed: []string{"8080/tcp", "8443/tcp"},
		files: baseFiles(map[string]fileSpec{"var/lib/vigil": {0o700, 65532, 65532, true}}),
	},
	{
		target: "agent", binary: "vigil-agent", versionArgs: []string{"-version"},
		user:  "0:0",
		files: baseFiles(map[string]fileSpec{"var/lib/vigil-agent": {0o700, 0, 0, true}}),
	},
}

// TestDockerImages builds both binaries with scripts/build.sh, checks they
// are static and stamped, builds both targets of deploy/Dockerfile with the
// local Docker Engine, runs each image's version command under a hardened
// runtime (read-only root, no capabilities, no network), and inspects the
// images' configuration and their complete file systems.
func TestDockerImages(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: builds both binaries and two images (-short)")
	}
	fixture.NeedTool(t, "go", "bash")
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	requireDocker(t, repo)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	dist := t.TempDir()
	version := fmt.Sprintf("0.0.0-deploytest.%d", time.Now().UnixNano())
	start := time.Now()
	if _, err := command(ctx, repo, []string{"DIST=" + dist, "VERSION=" + version}, "bash", "scripts/build.sh"); err != nil {
		t.Fatalf("scripts/build.sh: %v", err)
	}
	t.Logf("scripts/build.sh: %s", time.Since(start).Round(time.Millisecond))
	for _, spec := range imageSpecs {
		checkBinary(t, ctx, filepath.Join(dist, spec.binary), spec, version)
	}

	for _, spec := range imageSpecs {
		t.Run(spec.target, func(t *testing.T) {
			tag := fmt.Sprintf("vigil-deploy-test-%s:%s", spec.target, version)
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if _, err := command(ctx, repo, nil, "docker", "rmi", "-f", tag); err != nil {
					t.Errorf("remove image: %v", err)
				}
			})
			start := time.Now()
			if _, err := command(ctx, repo, nil, "docker", "build", "--force-rm", "-q",
				"-f", "deploy/Dockerfile", "--target", spec.target, "-t", tag, dist); err != nil {
				t.Fatalf("docker build: %v", err)
			}
			t.Logf("docker build --target %s: %s", spec.target, time.Since(start).Round(time.Millisecond))

			// The version command, under the strictest runtime settings.
			out, err := command(ctx, repo, nil, "docker", append([]string{"run", "--rm", "--read-only",
				"--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--network", "none", tag},
				spec.versionArgs...)...)
			if err != nil {
				t.Fatalf("docker run: %v", err)
			}
			if want := spec.binary + " " + version + "\n"; out != want {
				t.Errorf("docker run %s %v printed %q; want %q", tag, spec.versionArgs, out, want)
			}

			checkImageConfig(t, ctx, repo, tag, spec)
			checkImageFiles(t, ctx, repo, tag, spec, filepath.Join(dist, spec.binary))
		})
	}
}

// checkBinary: static, built as scripts/build.sh promises, and it prints the
// stamped version.
func checkBinary(t *testing.T, ctx context.Context, path string, spec imageSpec, version string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s: has an ELF interpreter: not static", spec.binary)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s: links %v: not static", spec.binary, libs)
	}
	if f.Section(".symtab") != nil {
		t.Errorf("%s: has a symbol table: not stripped (-s)", spec.binary)
	}
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: build info: %v", spec.binary, err)
	}
	if want := "github.com/vigil-sec/vigil/cmd/" + spec.binary; bi.Path != want {
		t.Errorf("%s: main package %s; want %s", spec.binary, bi.Path, want)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" {
		t.Errorf("%s: CGO_ENABLED=%q -trimpath=%q; want 0 and true", spec.binary, settings["CGO_ENABLED"], settings["-trimpath"])
	}
	// -trimpath keeps -ldflags out of the build info: -s and -w show as the
	// missing symbol table (above) and DWARF, -X as the version printed below.
	for _, sec := range f.Sections {
		if strings.HasPrefix(sec.Name, ".debug_") || strings.HasPrefix(sec.Name, ".zdebug_") {
			t.Errorf("%s: has DWARF section %s: not built with -w", spec.binary, sec.Name)
			break
		}
	}
	out, err := command(ctx, filepath.Dir(path), nil, path, spec.versionArgs...)
	if err != nil {
		t.Fatal(err)
	}
	if want := spec.binary + " " + version + "\n"; out != want {
		t.Errorf("%s %v printed %q; want %q", spec.binary, spec.versionArgs, out, want)
	}
}

func checkImageConfig(t *testing.T, ctx context.Context, repo, tag string, spec imageSpec) {
	t.Helper()
	out, err := command(ctx, repo, nil, "docker", "image", "inspect", "--format", "{{json .Config}}", tag)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		User         string
		Entrypoint   []string
		Cmd          []string
		ExposedPorts map[string]struct{}
	}
	if err := json.Unmarshal([]byte(out), &cfg); err != nil {
		t.Fatalf("image config: %v\n%s", err, out)
	}
	if cfg.User != spec.user {
		t.Errorf("USER %q; want %q", cfg.User, spec.user)
	}
	if want := []string{"/usr/local/bin/" + spec.binary}; !slices.Equal(cfg.Entrypoint, want) {
		t.Errorf("ENTRYPOINT %q; want %q", cfg.Entrypoint, want)
	}
	if len(cfg.Cmd) == 0 {
		t.Error("no default CMD")
	}
	if got := slices.Sorted(maps.Keys(cfg.ExposedPorts)); !slices.Equal(got, spec.exposed) {
		t.Errorf("EXPOSE %v; want %v", got, spec.exposed)
	}
}

// checkImageFiles reads the image as `docker save` writes it and compares
// its flattened file system, entry by entry, with the spec: nothing else
// (no shell, no package database), with the owners and modes the runtime
// relies on, and the very binary scripts/build.sh produced.
func checkImageFiles(t *testing.T, ctx context.Context, repo, tag string, spec imageSpec, binary string) {
	t.Helper()
	saved := filepath.Join(t.TempDir(), "image.tar")
	if _, err := command(ctx, repo, nil, "docker", "save", "-o", saved, tag); err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(saved, &ref)
	if err != nil {
		t.Fatalf("read saved image: %v", err)
	}
	fs := mutate.Extract(img)
	defer fs.Close()

	want := map[string]fileSpec{}
	for p, f := range spec.files {
		if strings.Contains(p, "%s") {
			p = fmt.Sprintf(p, spec.binary)
		}
		want[p] = f
	}
	wantSum, err := fileSHA256(binary)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	tr := tar.NewReader(fs)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("image file system: %v", err)
		}
		p := strings.Trim(strings.TrimPrefix(h.Name, "./"), "/")
		if p == "" {
			continue
		}
		seen[p] = true
		w, ok := want[p]
		if !ok {
			t.Errorf("unexpected file in image: %s", p)
			continue
		}
		mode := h.Mode & 0o7777
		if (h.Typeflag == tar.TypeDir) != w.dir || mode != w.mode || h.Uid != w.uid || h.Gid != w.gid {
			t.Errorf("%s: dir=%v mode=%#o owner=%d:%d; want dir=%v mode=%#o owner=%d:%d",
				p, h.Typeflag == tar.TypeDir, mode, h.Uid, h.Gid, w.dir, w.mode, w.uid, w.gid)
		}
		switch p {
		case "usr/local/bin/" + spec.binary:
			sum := sha256.New()
			if _, err := io.Copy(sum, tr); err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprintf("%x", sum.Sum(nil)); got != wantSum {
				t.Errorf("%s in the image is not the binary scripts/build.sh built", p)
			}
		case "etc/passwd":
			data, err := io.ReadAll(io.LimitReader(tr, 1<<16))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(data, []byte("\nvigil:x:65532:65532:")) {
				t.Errorf("/etc/passwd lacks the vigil user:\n%s", data)
			}
		}
	}
	for p := range want {
		if !seen[p] {
			t.Errorf("missing from image: %s", p)
		}
	}
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", h.Sum(nil)), nil
}
