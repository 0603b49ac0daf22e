package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

const dockerSocket = "unix:///var/run/docker.sock"

// requireDocker skips the test, saying why, when the Docker Engine cannot
// be used; with VIGIL_REQUIRE_FIXTURES (set by scripts/test.sh under CI) it
// fails instead. Start the Engine
// with scripts/dockerd.sh.
func requireDocker(t *testing.T) {
	t.Helper()
	unavailable := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("VIGIL_REQUIRE_FIXTURES") != "" {
			t.Fatalf("VIGIL_REQUIRE_FIXTURES is set but "+format, args...)
		}
		t.Skipf(format+" (run scripts/dockerd.sh as root)", args...)
	}
	if os.Geteuid() != 0 {
		unavailable("not running as root")
	}
	e, err := newEngine(dockerSocket)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ping(context.Background()); err != nil {
		unavailable("/var/run/docker.sock does not answer: %v", err)
	}
	if _, err := exec.LookPath("docker"); err != nil {
		unavailable("no docker CLI: %v", err)
	}
}

// busyboxRoot is a tar of a minimal root: bin/busybox (from the host's
// busybox-static) and a few applet symlinks.
func busyboxRoot(t *testing.T) (tarball []byte, busybox []byte) {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("read /bin/busybox (apt-get install busybox-static): %v", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	hdrs := []*tar.Header{
		{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mtime},
		{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bb)), ModTime: mtime},
	}
	for _, applet := range []string{"sh", "ls", "cat", "echo", "sleep"} {
		hdrs = append(hdrs, &tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777, ModTime: mtime})
	}
	for _, h := range hdrs {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(bb)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), bb
}

func TestDockerEngine(t *testing.T) {
	requireDocker(t)
	const tag = "vigil-test/busybox:1"
	root, bb := busyboxRoot(t)

	cmd := exec.Command("docker", "import", "-", tag)
	cmd.Stdin = bytes.NewReader(root)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker import: %v: %s", err, out)
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })

	spools := func() []string {
		m, _ := filepath.Glob(filepath.Join(os.TempDir(), "vigil-docker-save-*"))
		return m
	}
	before := spools()

	for _, ref := range []string{"docker:" + tag, tag} {
		t.Run(ref, func(t *testing.T) {
			img, err := Open(context.Background(), ref, Options{})
			if err != nil {
				t.Fatal(err)
			}
			a := img.Asset()
			if a.Name != ref || a.Digest != id || a.Platform != "linux/"+runtime.GOARCH || len(a.RepoDigests) != 0 {
				t.Errorf("asset = {Name %q Digest %q Platform %q RepoDigests %v}, want {%q %q linux/%s none}", a.Name, a.Digest, a.Platform, a.RepoDigests, ref, id, runtime.GOARCH)
			}
			layers := img.Layers()
			if len(layers) != 1 || len(a.Layers) != 1 {
				t.Fatalf("%d layers, want 1", len(layers))
			}
			if a.Layers[0].DiffID != digestOf(root) || a.Layers[0].Digest != a.Layers[0].DiffID {
				t.Errorf("layer = %+v, want DiffID and Digest %s", a.Layers[0], digestOf(root))
			}
			content, err := readLayer(t, layers[0])
			if err != nil {
				t.Fatal(err)
			}
			members := map[string]*tar.Header{}
			tr := tar.NewReader(bytes.NewReader(content))
			for {
				h, err := tr.Next()
				if err != nil {
					break
				}
				members[strings.TrimPrefix(h.Name, "./")] = h
				if h.Name == "bin/busybox" {
					got, _ := io.ReadAll(tr)
					if !bytes.Equal(got, bb) {
						t.Error("bin/busybox differs from /bin/busybox")
					}
				}
			}
			if h := members["bin/sh"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "busybox" {
				t.Errorf("bin/sh = %+v, want symlink to busybox", h)
			}
			if members["bin/busybox"] == nil {
				t.Error("bin/busybox missing from the layer")
			}
			if err := img.Close(); err != nil {
				t.Fatal(err)
			}
			for _, s := range spools() {
				if !slices.Contains(before, s) {
					t.Errorf("spool file %s left after Close", s)
				}
			}
		})
	}

	_, err = Open(context.Background(), "docker:vigil-test/busybox:no-such-tag", Options{})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("missing tag: err = %v, want ErrNotFound", err)
	}
}

// TestDockerEngineUnavailable needs no Engine: a socket nobody listens on.
func TestDockerEngineUnavailable(t *testing.T) {
	sock := "unix://" + filepath.Join(t.TempDir(), "docker.sock")
	_, err := Open(context.Background(), "vigil-test/busybox:1", Options{Source: SourceDocker, DockerHost: sock})
	if !errors.Is(err, ErrEngineUnavailable) {
		t.Errorf("err = %v, want ErrEngineUnavailable", err)
	}
	_, err = Open(context.Background(), "x", Options{Source: SourceDocker, DockerHost: "ssh://example"})
	if err == nil || errors.Is(err, ErrEngineUnavailable) {
		t.Errorf("ssh host: err = %v, want an unsupported-scheme error", err)
	}
}
