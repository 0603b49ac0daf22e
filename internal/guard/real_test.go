package guard

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/sensor"
)

// Helpers of the tests that run the guard on the real sensor (and the
// real dockerd): attack_test.go and benign_test.go.

// realGuard is a running Guard on the real sensor and its alerts.
type realGuard struct {
	*Guard
	sink *collect
}

// startGuard starts a guard with the built-in rules (and opts) on the
// real eBPF sensor, or skips saying why it cannot. actOn, if not nil,
// limits its actions to the events it accepts.
func startGuard(t *testing.T, opts Options, actOn func(*sensor.Event) bool) *realGuard {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("the sensor needs root (euid %d)", os.Geteuid())
	}
	opts.Sensor.Resolver = &sensor.InventoryResolver{}
	sink := &collect{}
	opts.Sinks = append(opts.Sinks, sink)
	g, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if g.Mode() != "ebpf" {
		g.Close()
		t.Skipf("eBPF unavailable on this host: %s", g.Mode())
	}
	g.actOn = actOn
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		st := g.Stats()
		if err := g.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		t.Logf("guard: %d events, alerts %v, suppressed %v, actions %v (errors %v), kernel drops %d",
			st.Events, st.Alerts, st.Suppressed, st.Actions, st.ActionErrors, st.Sensor.KernelDropsTotal)
		if len(st.EvalErrors) > 0 {
			t.Errorf("rule evaluation errors: %v", st.EvalErrors)
		}
	})
	return &realGuard{Guard: g, sink: sink}
}

// descends matches alerts on process pid or one of its descendants.
func descends(pid int) func(*Alert) bool {
	return func(a *Alert) bool {
		return int(a.Event.Process.PID) == pid ||
			slices.ContainsFunc(a.Event.Parents, func(p sensor.Process) bool { return int(p.PID) == pid })
	}
}

// inContainer matches alerts on processes of container id.
func inContainer(id string) func(*Alert) bool {
	return func(a *Alert) bool { return a.Event.Container != nil && a.Event.Container.ID == id }
}

// cleanEnv is the environment without proxy settings: the tests' traffic
// stays on loopback.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !strings.HasSuffix(strings.ToLower(k), "_proxy") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// command is exec.Command with cleanEnv.
func command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = cleanEnv()
	return cmd
}

// start starts cmd and makes sure it ends with the test.
func start(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
}

// run runs cmd to completion and returns its output.
func run(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	return string(out)
}

// listen opens a TCP listener on loopback for the test.
func listen(t *testing.T) (net.Listener, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, ln.Addr().(*net.TCPAddr).Port
}

// accept waits up to 10 s for one connection.
func accept(t *testing.T, ln net.Listener) net.Conn {
	t.Helper()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	c, err := ln.Accept()
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitExit waits up to 10 s for cmd to end and returns its wait status.
func waitExit(t *testing.T, cmd *exec.Cmd) syscall.WaitStatus {
	t.Helper()
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Errorf("%s did not end within 10s", cmd)
	}
	if cmd.ProcessState == nil {
		return 0
	}
	return cmd.ProcessState.Sys().(syscall.WaitStatus)
}

// copyFile copies src (following links) to dst with mode.
func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// needDocker skips unless a Docker Engine answers.
func needDocker(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skipf("no docker CLI: %v", err)
	}
	if out, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		t.Skipf("no Docker Engine (scripts/dockerd.sh starts one): %v: %.200s", err, out)
	}
}

// attackImage builds and imports a local image: the busybox root of
// internal/fixture with more applets, the host's bash with its libraries,
// this test binary (the helpers) with its libraries as /vigil-helper, and
// an /etc/shadow to read. It is removed when the test ends.
func attackImage(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	run(t, exec.Command("cp", "-a", fixture.BusyboxRoot(t), root))
	for _, a := range []string{"cp", "rm", "mkdir", "true", "nsenter", "env"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", a)); err != nil && !os.IsExist(err) {
			t.Fatal(err)
		}
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skipf("no bash: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	copyWithLibs(t, root, bash, "/bin/bash")
	copyWithLibs(t, root, self, "/vigil-helper")
	if err := os.WriteFile(filepath.Join(root, "etc/shadow"), []byte("root:*:19000:0:99999:7:::\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	tag := fmt.Sprintf("vigil-test/guard:%d", os.Getpid())
	run(t, exec.Command("sh", "-c", `tar -C "$1" -c . | docker import - "$2"`, "sh", root, tag))
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })
	return tag
}

// copyWithLibs copies the program bin to dst under root, with the shared
// libraries ldd lists at their own paths.
func copyWithLibs(t *testing.T, root, bin, dst string) {
	t.Helper()
	copyFile(t, bin, filepath.Join(root, dst), 0o755)
	out, err := exec.Command("ldd", bin).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "not a dynamic executable") {
			return
		}
		t.Fatalf("ldd %s: %v: %s", bin, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		// "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or
		// "/lib64/ld-linux-x86-64.so.2 (0x…)"
		f := strings.Fields(line)
		for _, w := range f {
			if strings.HasPrefix(w, "/") {
				copyFile(t, w, filepath.Join(root, w), 0o755)
				break
			}
		}
	}
}

// container starts a detached container that sleeps, and removes it when
// the test ends.
func container(t *testing.T, image, name string, flags ...string) string {
	t.Helper()
	args := append([]string{"run", "-d", "--name", name}, flags...)
	args = append(args, image, "/bin/sleep", "600")
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		exec.Command("docker", "rm", "-f", name).Run() // created but not started
		t.Fatalf("docker run: %v: %s", err, out)
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", id).Run() })
	return id
}

// privileged starts a --privileged container; where the host's own
// capability bounding set lacks one (runc then cannot grant it) it falls
// back to every capability the host has, without seccomp or AppArmor
// confinement.
func privileged(t *testing.T, image, name string, flags ...string) string {
	t.Helper()
	args := append([]string{"run", "-d", "--name", name, "--privileged"}, flags...)
	out, err := exec.Command("docker", append(args, image, "/bin/sleep", "600")...).CombinedOutput()
	if err == nil {
		id := strings.TrimSpace(string(out))
		t.Cleanup(func() { exec.Command("docker", "rm", "-f", id).Run() })
		return id
	}
	if !strings.Contains(string(out), "apply caps") {
		t.Fatalf("docker run --privileged: %v: %s", err, out)
	}
	exec.Command("docker", "rm", "-f", name).Run()
	var missing []string
	for _, c := range missingCaps(t) {
		missing = append(missing, "--cap-drop", strings.TrimPrefix(c, "CAP_"))
	}
	t.Logf("--privileged refused on this host (%s); using every capability but %v", strings.TrimSpace(string(out)), missing)
	flags = append(append(flags, "--cap-add", "ALL", "--security-opt", "seccomp=unconfined",
		"--security-opt", "apparmor=unconfined", "--security-opt", "systempaths=unconfined"), missing...)
	return container(t, image, name, flags...)
}

// missingCaps lists the capabilities absent from this process's bounding
// set.
func missingCaps(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	var bnd uint64
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			fmt.Sscanf(strings.TrimSpace(v), "%x", &bnd)
		}
	}
	var out []string
	for i, name := range capNames {
		if bnd&(1<<i) == 0 {
			out = append(out, name)
		}
	}
	return out
}

// capNames are Linux capability names by bit (linux/capability.h).
var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
	"CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}
