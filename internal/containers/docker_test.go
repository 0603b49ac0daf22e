package containers

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// serveUnix serves h on a new unix socket and returns its path.
func serveUnix(t *testing.T, h http.Handler) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "engine.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return sock
}

// fakeEngine serves the canned Engine responses of testdata/engine:
// container 3333… is gone (404) and 4444… fails (500) when inspected.
func fakeEngine(t *testing.T) http.Handler {
	dir := filepath.Join("testdata", "engine")
	file := func(w http.ResponseWriter, name string) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("fake engine: %v", err)
			http.Error(w, `{"message":"fixture missing"}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			t.Errorf("fake engine: %s %s", r.Method, r.URL)
		}
		switch p := r.URL.Path; {
		case p == "/version":
			file(w, "version.json")
		case p == "/containers/json":
			if r.URL.Query().Get("all") != "1" {
				t.Errorf("container list without all=1: %s", r.URL)
			}
			file(w, "containers.json")
		case p == "/images/json":
			file(w, "images.json")
		case strings.HasPrefix(p, "/containers/3333"):
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"message":"No such container: 3333"}`))
		case strings.HasPrefix(p, "/containers/4444"):
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`{"message":"layer does not exist"}`))
		case strings.HasPrefix(p, "/containers/") && strings.HasSuffix(p, "/json"):
			file(w, "inspect-"+strings.TrimSuffix(strings.TrimPrefix(p, "/containers/"), "/json")+".json")
		default:
			t.Errorf("fake engine: unexpected %s", r.URL)
			http.NotFound(w, r)
		}
	})
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// inventoryJSON is inv as indented JSON, sockets replaced by a placeholder.
func inventoryJSON(t *testing.T, inv *Inventory) []byte {
	t.Helper()
	for i := range inv.Runtimes {
		inv.Runtimes[i].Socket = "SOCKET"
	}
	b, err := json.MarshalIndent(inv, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func TestCollectDockerCanned(t *testing.T) {
	sock := serveUnix(t, fakeEngine(t))
	inv, err := Collect(context.Background(), Options{DockerSocket: sock, ContainerdSocket: NoSocket})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "engine/inventory.golden.json", inventoryJSON(t, inv))

	// The points of the golden file that matter most, spelt out.
	if len(inv.Containers) != 3 {
		t.Fatalf("%d containers, want 3 (the one removed since the listing dropped)", len(inv.Containers))
	}
	byName := map[string]Container{}
	for _, c := range inv.Containers {
		byName[c.Name] = c
	}
	web, debug, broken := byName["web-1"], byName["debug"], byName["broken"]
	if web.PID != 4242 || web.State != "running" || web.PodName != "web-7d9f" || web.PodNamespace != "shop" || web.Started.IsZero() || web.Privileged {
		t.Errorf("web-1 = %+v", web)
	}
	if !debug.Privileged || debug.NetworkMode != "host" || debug.PIDMode != "host" || debug.PID != 0 || !debug.Started.IsZero() {
		t.Errorf("debug = %+v", debug)
	}
	if broken.Error == "" || broken.State != "dead" || broken.Labels["a"] != "b" {
		t.Errorf("broken = %+v, want the listing's fields and an error", broken)
	}
	if rt := inv.Runtimes[0]; rt.Error != "" || rt.Version != "20.10.24+dfsg1" || rt.APIVersion != "1.41" {
		t.Errorf("runtime = %+v", rt)
	}
}

func TestCollectDockerFailures(t *testing.T) {
	t.Run("no socket", func(t *testing.T) {
		inv, err := Collect(context.Background(), Options{
			DockerSocket: filepath.Join(t.TempDir(), "docker.sock"), ContainerdSocket: filepath.Join(t.TempDir(), "containerd.sock"),
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(inv.Runtimes)+len(inv.Containers)+len(inv.Images) != 0 {
			t.Errorf("inventory = %+v, want empty", inv)
		}
		b, _ := json.Marshal(inv)
		if string(b) != `{"runtimes":[],"containers":[],"images":[]}` {
			t.Errorf("JSON = %s", b)
		}
	})
	t.Run("nothing listening", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "docker.sock")
		ln, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		ln.(*net.UnixListener).SetUnlinkOnClose(false)
		ln.Close()
		inv, err := Collect(context.Background(), Options{DockerSocket: sock, ContainerdSocket: NoSocket})
		if err != nil {
			t.Fatal(err)
		}
		if len(inv.Runtimes) != 1 || !strings.Contains(inv.Runtimes[0].Error, "connection refused") {
			t.Errorf("runtimes = %+v, want docker with a connection error", inv.Runtimes)
		}
	})

	broken := func(list, images string, status int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/version":
				w.Write([]byte(`{"Version":"x","ApiVersion":"1.41"}`))
			case "/containers/json":
				w.WriteHeader(status)
				w.Write([]byte(list))
			case "/images/json":
				w.Write([]byte(images))
			default:
				http.NotFound(w, r)
			}
		})
	}
	huge := "[" + strings.Repeat(`{"Id":"x"},`, (maxListBody/11)+1) + `{"Id":"x"}]`
	tests := []struct {
		name    string
		h       http.Handler
		errWant string
		images  int
	}{
		{"garbage list", broken(`{"not":"a list"`, `[]`, http.StatusOK), "decode container list", 0},
		{"list refused", broken(`{"message":"daemon busy"}`, `[{"Id":"sha256:1"}]`, http.StatusServiceUnavailable), "daemon busy", 1},
		{"oversized list", broken(huge, `[]`, http.StatusOK), "response over", 0},
		{"garbage images", broken(`[]`, `[{"Id":5}]`, http.StatusOK), "decode image list", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sock := serveUnix(t, tt.h)
			inv, err := Collect(context.Background(), Options{DockerSocket: sock, ContainerdSocket: NoSocket})
			if err != nil {
				t.Fatal(err)
			}
			if len(inv.Runtimes) != 1 || !strings.Contains(inv.Runtimes[0].Error, tt.errWant) {
				t.Errorf("runtimes = %+v, want an error mentioning %q", inv.Runtimes, tt.errWant)
			}
			if len(inv.Images) != tt.images {
				t.Errorf("%d images, want %d", len(inv.Images), tt.images)
			}
		})
	}
}

func TestCollectCanceled(t *testing.T) {
	sock := serveUnix(t, fakeEngine(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	inv, err := Collect(ctx, Options{DockerSocket: sock, ContainerdSocket: NoSocket})
	if err == nil || inv == nil {
		t.Fatalf("Collect = %v, %v; want a partial inventory and an error", inv, err)
	}
}

func TestDecodeEngineInspectMismatch(t *testing.T) {
	c := Container{ID: strings.Repeat("1", 64)}
	err := decodeEngineInspect([]byte(`{"Id":"`+strings.Repeat("2", 64)+`"}`), &c)
	if err == nil {
		t.Error("inspect answering for another container accepted")
	}
	if !bytes.Equal([]byte(c.ID), []byte(strings.Repeat("1", 64))) {
		t.Errorf("ID changed to %s", c.ID)
	}
}
