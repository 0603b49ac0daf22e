package guard

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBenignWorkload: everyday work raises no alert from any built-in
// rule — compiling and testing a Go project, running web servers and
// fetching from them, installing and removing a package. Only alerts on
// the workload's processes count: the rest of the host is not this
// test's.
func TestBenignWorkload(t *testing.T) {
	g := startGuard(t, Options{Response: ResponseDryRun}, nil)
	w := &workload{t: t}
	execs := g.Stats().Sensor.Events["exec"]

	// A Go project outside the temporary directories, where a developer
	// keeps one.
	proj, err := os.MkdirTemp("/var/lib", "vigil-benign-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(proj) })
	t.Run("go-build-and-test", func(t *testing.T) {
		goBin, err := exec.LookPath("go")
		if err != nil {
			t.Skipf("no go command: %v", err)
		}
		writeProject(t, proj)
		w.run(t, proj, goBin, "build", "-o", "srv", ".")
		w.run(t, proj, goBin, "vet", "./...")
		w.run(t, proj, goBin, "test", "-count=1", "./...")
	})

	t.Run("web-servers", func(t *testing.T) {
		srv := filepath.Join(proj, "srv")
		if _, err := os.Stat(srv); err != nil {
			t.Skip("no server binary (the Go build did not run)")
		}
		port := freePort(t)
		w.start(t, proj, srv, "127.0.0.1:"+port)
		w.fetch(t, "http://127.0.0.1:"+port+"/hello", "hello from vigil")

		if _, err := os.Stat("/usr/bin/python3"); err != nil {
			t.Logf("no /usr/bin/python3: skipping its web server")
			return
		}
		site := t.TempDir()
		os.WriteFile(filepath.Join(site, "index.html"), []byte("static page"), 0o644)
		port = freePort(t)
		w.start(t, site, "/usr/bin/python3", "-m", "http.server", "--bind", "127.0.0.1", port)
		w.fetch(t, "http://127.0.0.1:"+port+"/index.html", "static page")
	})

	t.Run("package-install", func(t *testing.T) {
		for _, tool := range []string{"dpkg", "dpkg-deb"} {
			if _, err := exec.LookPath(tool); err != nil {
				t.Skipf("no %s: %v", tool, err)
			}
		}
		// apt's cache is empty on this host and the network is off
		// limits, so the package is built here: a file, a maintainer
		// script, installed and purged with dpkg.
		const pkg = "vigil-benign-test"
		deb := buildDeb(t, w, pkg)
		t.Cleanup(func() { exec.Command("dpkg", "--purge", pkg).Run() })
		w.dpkg(t, "-i", deb)
		if _, err := os.Stat("/usr/share/doc/" + pkg + "/README"); err != nil {
			t.Errorf("package not installed: %v", err)
		}
		w.dpkg(t, "--purge", pkg)
	})

	// Everything the workload did was judged once the alert of a marker
	// command that follows it has come through (one ring buffer, read in
	// order).
	marker := command("cat", "/etc/shadow")
	run(t, marker)
	g.sink.wait(t, "marker", and(byRule("VGL-RT-060"), descends(marker.Process.Pid)))

	roots := w.roots()
	if len(roots) == 0 {
		t.Fatal("the workload ran nothing")
	}
	if n := g.Stats().Sensor.Events["exec"] - execs; n < uint64(len(roots)) {
		t.Fatalf("the sensor saw %d execs for %d workload commands", n, len(roots))
	}
	var bad []string
	for _, a := range g.sink.all() {
		for _, pid := range roots {
			if descends(pid)(a) {
				bad = append(bad, fmt.Sprintf("%s %s (pid %d %s, parents %v)", a.RuleID, a.Output, a.Event.Process.PID, a.Event.Process.Name, parentNames(a)))
				break
			}
		}
	}
	if len(bad) > 0 {
		t.Errorf("the benign workload raised %d alerts:\n%s", len(bad), strings.Join(bad, "\n"))
	}
	t.Logf("benign workload: %d commands, %d execs seen, no alert on their processes; %d alerts elsewhere on the host",
		len(roots), g.Stats().Sensor.Events["exec"]-execs, len(g.sink.all())-len(bad)-1)
}

// workload runs the benign commands and remembers their pids.
type workload struct {
	t    *testing.T
	mu   sync.Mutex
	pids []int
}

func (w *workload) add(pid int) {
	w.mu.Lock()
	w.pids = append(w.pids, pid)
	w.mu.Unlock()
}

func (w *workload) roots() []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]int(nil), w.pids...)
}

func (w *workload) cmd(dir, name string, args ...string) *exec.Cmd {
	cmd := command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(cmd.Env, "GOTOOLCHAIN=local", "GOFLAGS=", "DEBIAN_FRONTEND=noninteractive")
	return cmd
}

func (w *workload) run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := w.cmd(dir, name, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	w.add(cmd.Process.Pid)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out.String())
	}
	return out.String()
}

// start starts a server until the test ends.
func (w *workload) start(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	cmd := w.cmd(dir, name, args...)
	start(t, cmd)
	w.add(cmd.Process.Pid)
}

// fetch gets url with curl, retrying while the server starts.
func (w *workload) fetch(t *testing.T, url, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cmd := w.cmd("", "curl", "-sf", url)
		out, err := cmd.Output()
		if cmd.Process != nil {
			w.add(cmd.Process.Pid)
		}
		if err == nil && strings.Contains(string(out), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("curl %s: %v: %q", url, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dpkg runs dpkg, waiting while another dpkg holds the lock.
func (w *workload) dpkg(t *testing.T, args ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		cmd := w.cmd("", "dpkg", args...)
		out, err := cmd.CombinedOutput()
		if cmd.Process != nil {
			w.add(cmd.Process.Pid)
		}
		if err == nil {
			return
		}
		if !strings.Contains(string(out), "lock") || time.Now().After(deadline) {
			t.Fatalf("dpkg %v: %v\n%s", args, err, out)
		}
		time.Sleep(time.Second)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func parentNames(a *Alert) []string {
	var out []string
	for _, p := range a.Event.Parents {
		out = append(out, p.Name)
	}
	return out
}

// writeProject writes a small Go module: an HTTP server and its test.
func writeProject(t *testing.T, dir string) {
	t.Helper()
	files := map[string]string{
		"go.mod": "module example.com/benign\n\ngo 1.22\n",
		"main.go": `package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

func hello(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello from vigil") }

func main() {
	http.HandleFunc("/hello", hello)
	log.Fatal(http.ListenAndServe(os.Args[1], nil))
}
`,
		"main_test.go": `package main

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHello(t *testing.T) {
	rec := httptest.NewRecorder()
	hello(rec, httptest.NewRequest("GET", "/hello", nil))
	if !strings.Contains(rec.Body.String(), "hello") {
		t.Fatal(rec.Body.String())
	}
}
`,
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// buildDeb builds a tiny package with a file and a postinst script.
func buildDeb(t *testing.T, w *workload, pkg string) string {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, pkg)
	files := map[string]string{
		"DEBIAN/control": "Package: " + pkg + "\nVersion: 1.0\nArchitecture: all\nMaintainer: Vigil tests <tests@vigil.invalid>\n" +
			"Description: Vigil benign-workload test package\n A file and a maintainer script.\n",
		"DEBIAN/postinst":                  "#!/bin/sh\nset -e\ntest -f /usr/share/doc/" + pkg + "/README\n",
		"usr/share/doc/" + pkg + "/README": "installed by internal/guard's benign-workload test\n",
	}
	for name, src := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, "postinst") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(src), mode); err != nil {
			t.Fatal(err)
		}
	}
	deb := filepath.Join(dir, pkg+".deb")
	w.run(t, dir, "dpkg-deb", "--root-owner-group", "--build", root, deb)
	return deb
}
