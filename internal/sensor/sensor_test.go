package sensor

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/fixture"
)

// These tests start the real sensor and perform each action for real.
// They need root and the kernel features the sensor uses; otherwise they
// skip saying why.

// collector gathers a sensor's events.
type collector struct {
	s  *Sensor
	mu sync.Mutex
	ev []Event
}

// startSensor starts a sensor; ebpf says the test needs the eBPF mode
// (it skips, with the reason, when the sensor came up degraded).
func startSensor(t *testing.T, o Options, ebpf bool) *collector {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("the sensor needs root (euid %d)", os.Geteuid())
	}
	s, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if ebpf && s.Mode() != "ebpf" {
		s.Close()
		if strings.Contains(s.Mode(), "verifier rejected") {
			// The kernel runs eBPF and refused our programs: a bug, not
			// a missing feature.
			t.Fatalf("the kernel's verifier rejected the sensor's programs: %s", s.Mode())
		}
		t.Skipf("eBPF unavailable on this host: %s", s.Mode())
	}
	c := &collector{s: s}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range s.Events() {
			c.mu.Lock()
			c.ev = append(c.ev, ev)
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		<-done
	})
	return c
}

// waitFor returns the first event matching pred, failing after timeout.
func (c *collector) waitFor(t *testing.T, what string, pred func(Event) bool) Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for _, ev := range c.ev {
			if pred(ev) {
				c.mu.Unlock()
				return ev
			}
		}
		c.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var kinds []string
	for _, ev := range c.ev[max(0, len(c.ev)-30):] {
		kinds = append(kinds, fmt.Sprintf("%s pid=%d exe=%s file=%+v net=%+v", ev.Kind, ev.Process.PID, ev.Process.Exe, ev.File, ev.Network))
	}
	t.Fatalf("no %s event in %d events; last ones:\n%s", what, len(c.ev), strings.Join(kinds, "\n"))
	return Event{}
}

// none fails if any event matches pred.
func (c *collector) none(t *testing.T, what string, pred func(Event) bool) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range c.ev {
		if pred(ev) {
			t.Errorf("unexpected %s event: %+v", what, ev)
		}
	}
}

func hasParent(ev Event, pid int) bool {
	return slices.ContainsFunc(ev.Parents, func(p Process) bool { return int(p.PID) == pid })
}

func run(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
}

// fileTree makes a temporary tree for file tests: dir, its "watched"
// directory (with "sub" in it; watched ends in '/') and "other".
func fileTree(t *testing.T) (dir, watched, other string) {
	t.Helper()
	dir = t.TempDir()
	watched, other = filepath.Join(dir, "watched")+"/", filepath.Join(dir, "other")
	for _, d := range []string{filepath.Join(watched, "sub"), other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir, watched, other
}

func TestExec(t *testing.T) {
	c := startSensor(t, Options{}, true)
	marker := fmt.Sprintf("vigil-exec-%d", os.Getpid())
	run(t, exec.Command("/bin/true", marker, "two words"))
	ev := c.waitFor(t, "exec", func(ev Event) bool {
		return ev.Kind == KindExec && slices.Contains(ev.Process.Args, marker)
	})
	if want := []string{"/bin/true", marker, "two words"}; !slices.Equal(ev.Process.Args, want) {
		t.Errorf("Args = %q, want %q", ev.Process.Args, want)
	}
	real, _ := filepath.EvalSymlinks("/bin/true")
	if ev.Process.Exe != real && ev.Process.Exe != "/bin/true" {
		t.Errorf("Exe = %q, want %q", ev.Process.Exe, real)
	}
	if ev.Process.UID != uint32(os.Getuid()) || ev.Process.EUID != uint32(os.Geteuid()) {
		t.Errorf("UID/EUID = %d/%d, want %d/%d", ev.Process.UID, ev.Process.EUID, os.Getuid(), os.Geteuid())
	}
	if ev.Process.PPID != int32(os.Getpid()) || !hasParent(ev, os.Getpid()) {
		t.Errorf("PPID %d, Parents %+v: the test process (%d) is not the parent", ev.Process.PPID, ev.Parents, os.Getpid())
	}
	if ev.Process.Name != "true" || ev.Process.StartTime == 0 || ev.Process.MntNS == 0 {
		t.Errorf("Name %q StartTime %d MntNS %d", ev.Process.Name, ev.Process.StartTime, ev.Process.MntNS)
	}
	if d := time.Since(ev.Time); d < 0 || d > time.Minute {
		t.Errorf("Time %v is %v away from now", ev.Time, d)
	}
	// fork and exit of the same process
	c.waitFor(t, "fork", func(e Event) bool {
		return e.Kind == KindFork && e.Process.PID == ev.Process.PID && e.Process.StartTime == ev.Process.StartTime
	})
	exit := c.waitFor(t, "exit", func(e Event) bool { return e.Kind == KindExit && e.Process.PID == ev.Process.PID })
	if exit.Args["exitCode"] != int64(0) || exit.Process.Exe != ev.Process.Exe {
		t.Errorf("exit: args %v exe %q", exit.Args, exit.Process.Exe)
	}
	exec.Command("/bin/false").Run()
	c.waitFor(t, "exit 1", func(e Event) bool {
		return e.Kind == KindExit && strings.HasSuffix(e.Process.Exe, "/false") && e.Args["exitCode"] == int64(1)
	})
	if st := c.s.Stats(); st.Events[KindExec] == 0 || st.DecodeErrors != 0 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestNetwork(t *testing.T) {
	c := startSensor(t, Options{Kinds: []Kind{KindConnect, KindAccept, KindBind, KindListen, KindTCPState}}, true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	go func() {
		if conn, err := ln.Accept(); err == nil {
			conn.Close()
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	local := conn.LocalAddr().(*net.TCPAddr)
	conn.Close()
	me := int32(os.Getpid())
	ev := c.waitFor(t, "connect", func(e Event) bool {
		return e.Kind == KindConnect && e.Network.DstPort == port
	})
	want := Network{Family: "inet", Protocol: "tcp", SrcAddr: "127.0.0.1", SrcPort: uint16(local.Port), DstAddr: "127.0.0.1", DstPort: port}
	if *ev.Network != want || ev.Process.PID != me {
		t.Errorf("connect: %+v pid %d, want %+v pid %d", *ev.Network, ev.Process.PID, want, me)
	}
	if ev.Result != 0 && ev.Result != -int64(unix.EINPROGRESS) {
		t.Errorf("connect result %d", ev.Result)
	}
	c.waitFor(t, "bind", func(e Event) bool {
		return e.Kind == KindBind && e.Network.SrcAddr == "127.0.0.1" && e.Process.PID == me
	})
	c.waitFor(t, "listen", func(e Event) bool { return e.Kind == KindListen && e.Network.SrcPort == port })
	acc := c.waitFor(t, "accept", func(e Event) bool { return e.Kind == KindAccept && e.Network.DstPort == port })
	if acc.Network.SrcPort != uint16(local.Port) || acc.Network.SrcAddr != "127.0.0.1" {
		t.Errorf("accept: %+v, want peer port %d", *acc.Network, local.Port)
	}
	c.waitFor(t, "tcp_state", func(e Event) bool {
		return e.Kind == KindTCPState && e.Network.DstPort == port && e.Network.NewState == "SYN_SENT" && e.Network.OldState == "CLOSE"
	})

	// unix sockets: the path of connect
	dir := t.TempDir()
	sock := filepath.Join(dir, "s.sock")
	ul, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ul.Close()
	uc, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	uc.Close()
	c.waitFor(t, "unix connect", func(e Event) bool {
		return e.Kind == KindConnect && e.Network.Family == "unix" && e.Network.Path == sock
	})
}

func TestFiles(t *testing.T) {
	_, watched, other := fileTree(t)
	readable := watched + "read-watched"
	os.WriteFile(readable, []byte("x"), 0o644)
	c := startSensor(t, Options{WatchedPaths: []string{watched}, ReadPaths: []string{watched + "read-"},
		Kinds: []Kind{KindOpen, KindUnlink, KindRename, KindChmod}}, true)

	unwatched := filepath.Join(other, "f")
	os.WriteFile(unwatched, []byte("x"), 0o644)
	os.ReadFile(filepath.Join(watched, "quiet")) // watched for writes only, read: not reported
	w := filepath.Join(watched, "w")
	if err := os.WriteFile(w, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	ev := c.waitFor(t, "open for writing", func(e Event) bool { return e.Kind == KindOpen && e.File.Path == w })
	if !ev.File.Write || ev.File.Flags&unix.O_CREAT == 0 || ev.Process.PID != int32(os.Getpid()) || ev.Result < 0 {
		t.Errorf("open: %+v result %d pid %d", *ev.File, ev.Result, ev.Process.PID)
	}
	if _, err := os.ReadFile(w); err != nil {
		t.Fatal(err)
	}
	if _, err := os.ReadFile(readable); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, "open for reading", func(e Event) bool { return e.Kind == KindOpen && e.File.Path == readable && !e.File.Write })
	os.WriteFile(filepath.Join(watched, "quiet"), []byte("x"), 0o644)
	c.waitFor(t, "write-only open", func(e Event) bool { return e.Kind == KindOpen && e.File.Path == watched+"quiet" && e.File.Write })

	if err := os.Chmod(w, 0o755|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	ch := c.waitFor(t, "chmod", func(e Event) bool { return e.Kind == KindChmod && e.File.Path == w })
	if ch.File.Mode != 0o4755 {
		t.Errorf("chmod mode %o", ch.File.Mode)
	}
	w2 := filepath.Join(watched, "w2")
	if err := os.Rename(w, w2); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, "rename", func(e Event) bool { return e.Kind == KindRename && e.File.Path == w && e.File.NewPath == w2 })
	// into the watched tree from outside
	if err := os.Rename(unwatched, filepath.Join(watched, "moved")); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, "rename into", func(e Event) bool { return e.Kind == KindRename && e.File.NewPath == filepath.Join(watched, "moved") })
	if err := os.Remove(w2); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, "unlink", func(e Event) bool { return e.Kind == KindUnlink && e.File.Path == w2 && e.Result == 0 })
	os.WriteFile(filepath.Join(other, "g"), []byte("x"), 0o644)
	os.Remove(filepath.Join(other, "g"))
	// a last watched action, then nothing of the other tree may be there
	os.Remove(filepath.Join(watched, "moved"))
	c.waitFor(t, "unlink moved", func(e Event) bool { return e.Kind == KindUnlink && e.File.Path == filepath.Join(watched, "moved") })
	c.none(t, "unwatched", func(e Event) bool {
		return e.File != nil && (strings.HasPrefix(e.File.Path, other) && e.Kind != KindRename || (e.File.Path == watched+"quiet" || e.File.Path == w) && e.Kind == KindOpen && !e.File.Write)
	})
}

func TestCredentials(t *testing.T) {
	c := startSensor(t, Options{Kinds: []Kind{KindSetUID, KindSetGID, KindExec}}, true)
	cmd := exec.Command("/bin/true", "vigil-setuid")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	run(t, cmd)
	ev := c.waitFor(t, "setuid", func(e Event) bool { return e.Kind == KindSetUID && e.Cred != nil && e.Cred.UID == 65534 })
	if ev.Cred.EUID != 65534 || ev.Process.UID != 0 || ev.Result != 0 || !hasParent(ev, os.Getpid()) && ev.Process.PPID != int32(os.Getpid()) {
		t.Errorf("setuid: cred %+v process uid %d result %d ppid %d", *ev.Cred, ev.Process.UID, ev.Result, ev.Process.PPID)
	}
	c.waitFor(t, "setgid", func(e Event) bool { return e.Kind == KindSetGID && e.Cred.GID == 65534 })
	exe := c.waitFor(t, "exec as nobody", func(e Event) bool {
		return e.Kind == KindExec && slices.Contains(e.Process.Args, "vigil-setuid")
	})
	if exe.Process.UID != 65534 {
		t.Errorf("exec uid %d", exe.Process.UID)
	}
}

// copyFile copies src to a new file dst with mode.
func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
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

func TestMemfdExec(t *testing.T) {
	c := startSensor(t, Options{Kinds: []Kind{KindExec, KindMemfd}}, true)
	fd, err := unix.MemfdCreate("vigil-fileless", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "memfd")
	defer f.Close()
	m := c.waitFor(t, "memfd", func(e Event) bool { return e.Kind == KindMemfd && e.Args["name"] == "vigil-fileless" })
	if m.Args["flags"] != int64(unix.MFD_CLOEXEC) || m.Result != int64(fd) {
		t.Errorf("memfd args %v result %d", m.Args, m.Result)
	}
	bin, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(bin); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), fd)
	cmd := exec.Command(path, "vigil-memfd-run")
	run(t, cmd)
	ev := c.waitFor(t, "memfd exec", func(e Event) bool {
		return e.Kind == KindExec && slices.Contains(e.Process.Args, "vigil-memfd-run")
	})
	if !ev.Process.ExeMemfd || ev.Process.ExeDeleted || !strings.HasPrefix(ev.Process.Exe, "/memfd:vigil-fileless") {
		t.Errorf("memfd exec: Exe %q memfd %v deleted %v", ev.Process.Exe, ev.Process.ExeMemfd, ev.Process.ExeDeleted)
	}
}

func TestDeletedExec(t *testing.T) {
	dir := t.TempDir()
	watched := filepath.Join(dir, "watched") + "/"
	os.MkdirAll(watched, 0o755)
	c := startSensor(t, Options{WatchedPaths: []string{watched}}, true)
	// 1. started, then its binary unlinked: later events say deleted.
	sh := filepath.Join(dir, "vigil-sh")
	copyFile(t, "/bin/sh", sh, 0o755)
	cmd := exec.Command(sh, "-c", `read x; echo > "$1"`, "sh", filepath.Join(watched, "after"))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ev := c.waitFor(t, "exec", func(e Event) bool { return e.Kind == KindExec && e.Process.PID == int32(cmd.Process.Pid) })
	if ev.Process.Exe != sh || ev.Process.ExeDeleted || ev.Process.Stdin != "pipe" {
		t.Errorf("exec: Exe %q deleted %v stdin %q", ev.Process.Exe, ev.Process.ExeDeleted, ev.Process.Stdin)
	}
	if err := os.Remove(sh); err != nil {
		t.Fatal(err)
	}
	stdin.Write([]byte("go\n"))
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	op := c.waitFor(t, "open by the deleted binary", func(e Event) bool {
		return e.Kind == KindOpen && e.Process.PID == int32(cmd.Process.Pid)
	})
	if !op.Process.ExeDeleted || op.Process.Exe != sh {
		t.Errorf("open: Exe %q deleted %v", op.Process.Exe, op.Process.ExeDeleted)
	}
	// 2. unlinked, then executed through its open descriptor.
	bin := filepath.Join(dir, "vigil-true")
	copyFile(t, "/bin/true", bin, 0o755)
	f, err := os.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	os.Remove(bin)
	run(t, exec.Command(fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), f.Fd()), "vigil-deleted-run"))
	ev = c.waitFor(t, "deleted exec", func(e Event) bool {
		return e.Kind == KindExec && slices.Contains(e.Process.Args, "vigil-deleted-run")
	})
	if !ev.Process.ExeDeleted || ev.Process.ExeMemfd || ev.Process.Exe != bin {
		t.Errorf("deleted exec: Exe %q deleted %v memfd %v", ev.Process.Exe, ev.Process.ExeDeleted, ev.Process.ExeMemfd)
	}
}

func TestKernelCalls(t *testing.T) {
	c := startSensor(t, Options{Kinds: []Kind{KindExec, KindPtrace, KindMount, KindBPF, KindModuleLoad}}, true)
	// ptrace attach to a child
	cmd := exec.Command("/bin/sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	pid := cmd.Process.Pid
	// The parent may return from Start before the child's exec is
	// reported: wait for it so that the target is known as sleep.
	c.waitFor(t, "exec of sleep", func(e Event) bool { return e.Kind == KindExec && e.Process.PID == int32(pid) })
	func() {
		// PTRACE_ATTACH needs the tracer thread to stay the same.
		done := make(chan error)
		go func() {
			// The tracer is a thread: detaching from another one fails
			// with ESRCH (this test flaked so, one run in ~20).
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			err := unix.PtraceAttach(pid)
			if err == nil {
				var ws unix.WaitStatus
				unix.Wait4(pid, &ws, 0, nil)
				err = unix.PtraceDetach(pid)
			}
			done <- err
		}()
		if err := <-done; err != nil {
			t.Errorf("ptrace attach: %v", err)
		}
	}()
	ev := c.waitFor(t, "ptrace", func(e Event) bool { return e.Kind == KindPtrace && e.Args["targetPid"] == int64(pid) })
	if ev.Args["requestName"] != "ATTACH" || ev.Target == nil || ev.Target.PID != int32(pid) || ev.Target.Name != "sleep" {
		t.Errorf("ptrace: args %v target %+v", ev.Args, ev.Target)
	}
	// process_vm_readv / writev: another process's memory without ptrace
	// (an unmapped address: the call fails, the attempt is what counts).
	buf := make([]byte, 8)
	local := []unix.Iovec{{Base: &buf[0], Len: 8}}
	remote := []unix.RemoteIovec{{Base: 0x1000, Len: 8}}
	unix.ProcessVMReadv(pid, local, remote, 0)
	unix.ProcessVMWritev(pid, local, remote, 0)
	for _, name := range []string{"PROCESS_VM_READV", "PROCESS_VM_WRITEV"} {
		ev := c.waitFor(t, name, func(e Event) bool { return e.Kind == KindPtrace && e.Args["requestName"] == name })
		if ev.Target == nil || ev.Target.PID != int32(pid) || ev.Target.Name != "sleep" {
			t.Errorf("%s: target %+v", name, ev.Target)
		}
	}
	// mount (a tmpfs on a temp dir; fails harmlessly if not permitted)
	dir := t.TempDir()
	if err := unix.Mount("vigil-test", dir, "tmpfs", 0, "size=1m"); err == nil {
		unix.Unmount(dir, 0)
	}
	m := c.waitFor(t, "mount", func(e Event) bool { return e.Kind == KindMount && e.Mount.Target == dir })
	if m.Mount.Source != "vigil-test" || m.Mount.FSType != "tmpfs" {
		t.Errorf("mount %+v", *m.Mount)
	}
	// bpf(BPF_MAP_CREATE)
	attr := make([]byte, 72)
	le.PutUint32(attr[0:], 2) // BPF_MAP_TYPE_ARRAY
	le.PutUint32(attr[4:], 4)
	le.PutUint32(attr[8:], 4)
	le.PutUint32(attr[12:], 1)
	copy(attr[28:], "vigil_test_map")
	fd, _, _ := unix.Syscall(unix.SYS_BPF, 0, uintptr(unsafePointer(attr)), uintptr(len(attr)))
	if int(fd) > 0 {
		unix.Close(int(fd))
	}
	b := c.waitFor(t, "bpf", func(e Event) bool { return e.Kind == KindBPF && e.Args["mapName"] == "vigil_test_map" })
	if b.Args["cmdName"] != "BPF_MAP_CREATE" {
		t.Errorf("bpf args %v", b.Args)
	}
}

func TestModuleLoad(t *testing.T) {
	// finit_module of a file that is no module: refused, but reported.
	// The attempt is seen even on a kernel without module support (which
	// has no finit_module tracepoint and answers ENOSYS): the sensor hooks
	// every system call's entry and exit, not per-syscall tracepoints.
	c := startSensor(t, Options{Kinds: []Kind{KindModuleLoad}}, true)
	f, err := os.CreateTemp(t.TempDir(), "vigil-mod-*.ko")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("not a module")
	unix.FinitModule(int(f.Fd()), "vigil=1", 0)
	f.Close()
	mod := c.waitFor(t, "module", func(e Event) bool { return e.Kind == KindModuleLoad && e.Args["params"] == "vigil=1" })
	if !strings.HasPrefix(mod.Args["name"].(string), "vigil-mod-") || mod.Result >= 0 {
		t.Errorf("module: args %v result %d", mod.Args, mod.Result)
	}
}

func TestDegraded(t *testing.T) {
	c := startSensor(t, Options{Degraded: "forced by test"}, false)
	if c.s.Mode() != "degraded: forced by test" {
		t.Fatalf("Mode = %q", c.s.Mode())
	}
	cmd := exec.Command("/bin/sh", "-c", "sleep 0.3", "vigil-degraded")
	run(t, cmd)
	ev := c.waitFor(t, "exec", func(e Event) bool { return e.Kind == KindExec && e.Process.PID == int32(cmd.Process.Pid) })
	if len(ev.Process.Args) == 0 || !strings.HasSuffix(ev.Process.Exe, "sh") || !hasParent(ev, os.Getpid()) {
		t.Errorf("degraded exec: %+v parents %d", ev.Process, len(ev.Parents))
	}
	c.waitFor(t, "fork", func(e Event) bool { return e.Kind == KindFork && e.Process.PPID == int32(os.Getpid()) })
	c.waitFor(t, "exit", func(e Event) bool { return e.Kind == KindExit && e.Process.PID == int32(cmd.Process.Pid) })
}

// TestLoad runs exec loops on every CPU and checks that the kernel dropped
// nothing. VIGIL_SENSOR_LOAD=1 enables it (it takes a while).
func TestLoad(t *testing.T) {
	if os.Getenv("VIGIL_SENSOR_LOAD") != "1" {
		t.Skip("load test: set VIGIL_SENSOR_LOAD=1")
	}
	n, _ := strconv.Atoi(os.Getenv("VIGIL_SENSOR_LOAD_EXECS"))
	if n == 0 {
		n = 3000
	}
	c := startSensor(t, Options{}, true)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n/2; i++ {
				exec.Command("/bin/true").Run()
				if f, err := os.Open("/etc/shadow"); err == nil {
					f.Close()
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	time.Sleep(time.Second)
	st := c.s.Stats()
	t.Logf("%d execs in %v (%.0f/s); stats %+v", n, took, float64(n)/took.Seconds(), st)
	if st.KernelDropsTotal != 0 {
		t.Errorf("kernel dropped %d records", st.KernelDropsTotal)
	}
	if st.Events[KindExec] < uint64(n) {
		t.Errorf("%d exec events for %d execs", st.Events[KindExec], n)
	}
}

func TestContainer(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skipf("no docker CLI: %v", err)
	}
	if out, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		t.Skipf("no Docker Engine (scripts/dockerd.sh starts one): %v: %.200s", err, out)
	}
	tag := fmt.Sprintf("vigil-test/sensor:%d", os.Getpid())
	root := fixture.BusyboxRoot(t)
	run(t, exec.Command("sh", "-c", `tar -C "$1" -c . | docker import - "$2"`, "sh", root, tag))
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })
	c := startSensor(t, Options{Kinds: []Kind{KindExec}, Resolver: &InventoryResolver{}}, true)
	name := fmt.Sprintf("vigil-sensor-%d", os.Getpid())
	out, err := exec.Command("docker", "run", "-d", "--name", name, tag, "/bin/sh", "-c", "sleep 1; /bin/ls /vigil-marker-dir; sleep 30").CombinedOutput()
	if err != nil {
		t.Fatalf("docker run: %v: %s", err, out)
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", id).Run() })
	ev := c.waitFor(t, "exec in container", func(e Event) bool {
		return e.Kind == KindExec && slices.Contains(e.Process.Args, "/vigil-marker-dir")
	})
	if ev.Container == nil || ev.Container.ID != id {
		t.Fatalf("Container = %+v, want ID %s", ev.Container, id)
	}
	if ev.Container.Name != name || ev.Container.Image != tag || ev.Container.Runtime != "docker" {
		t.Errorf("Container = %+v, want name %s image %s", *ev.Container, name, tag)
	}
	if ev.Process.PidNS == ev.Parents[len(ev.Parents)-1].PidNS {
		t.Logf("note: pid namespace equals the oldest ancestor's (%d)", ev.Process.PidNS)
	}
}

// A shell's standard streams: a network socket is "socket", a Unix one
// "unix" (only the first is a reverse shell's).
func TestStdioSockets(t *testing.T) {
	c := startSensor(t, Options{Kinds: []Kind{KindExec}}, true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if conn, err := ln.Accept(); err == nil {
			io.Copy(io.Discard, conn)
			conn.Close()
		}
	}()
	tcp, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	tf, err := tcp.(*net.TCPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	defer tf.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	uf := os.NewFile(uintptr(fds[0]), "unix")
	defer uf.Close()
	defer unix.Close(fds[1])
	for _, tc := range []struct {
		f    *os.File
		mark string
		want string
	}{{tf, "vigil-stdio-tcp", "socket"}, {uf, "vigil-stdio-unix", "unix"}} {
		cmd := exec.Command("/bin/sh", "-c", "exit 0", tc.mark)
		cmd.Stdin, cmd.Stdout = tc.f, tc.f
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		ev := c.waitFor(t, tc.mark, func(e Event) bool { return e.Kind == KindExec && slices.Contains(e.Process.Args, tc.mark) })
		if ev.Process.Stdin != tc.want || ev.Process.Stdout != tc.want {
			t.Errorf("%s: stdin %q stdout %q, want %q", tc.mark, ev.Process.Stdin, ev.Process.Stdout, tc.want)
		}
	}
}

// An open of a relative path (cd /etc && cat shadow) is resolved from the
// opened file, so it cannot slip past the watched prefixes; so is one
// relative to a directory descriptor.
func TestRelativeOpen(t *testing.T) {
	dir := t.TempDir()
	watched := filepath.Join(dir, "watched") + "/"
	if err := os.MkdirAll(filepath.Join(watched, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(watched, "sub", "secret")
	os.WriteFile(secret, []byte("x"), 0o600)
	c := startSensor(t, Options{WatchedPaths: []string{watched}, ReadPaths: []string{watched}, Kinds: []Kind{KindOpen, KindExec}}, true)
	cmd := exec.Command("/bin/cat", "sub/secret")
	cmd.Dir = watched
	run(t, cmd)
	ev := c.waitFor(t, "relative read", func(e Event) bool {
		return e.Kind == KindOpen && e.File.Path == secret && e.Process.PID == int32(cmd.Process.Pid)
	})
	if ev.File.Write || ev.Result < 0 {
		t.Errorf("relative read: %+v result %d", *ev.File, ev.Result)
	}
	// openat(dirfd, "secret") from Go
	d, err := os.Open(filepath.Join(watched, "sub"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	fd, err := unix.Openat(int(d.Fd()), "secret", unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	c.waitFor(t, "dirfd read", func(e Event) bool {
		return e.Kind == KindOpen && e.File.Path == secret && e.Process.PID == int32(os.Getpid())
	})
	// a relative open outside the watched tree stays in the kernel
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "f"), []byte("x"), 0o644)
	cmd = exec.Command("/bin/cat", "f")
	cmd.Dir = other
	run(t, cmd)
	run(t, exec.Command("/bin/cat", secret)) // a last watched open: all before it has been read
	c.waitFor(t, "absolute read", func(e Event) bool {
		return e.Kind == KindOpen && e.File.Path == secret && e.Process.PID != int32(os.Getpid()) && slices.Contains(e.Process.Args, secret)
	})
	c.none(t, "unwatched relative", func(e Event) bool { return e.Kind == KindOpen && strings.HasPrefix(e.File.Path, other) })
}

// TestAliasedOpen: a watched file opened by another name than its plain
// path — doubled slashes, "." and ".." components, /proc magic links,
// for writes also a symbolic link — is reported under its real path, as
// an attacker reading or planting it that way would be.
func TestAliasedOpen(t *testing.T) {
	_, watched, other := fileTree(t)
	secret := watched + "read-secret"
	os.WriteFile(secret, []byte("x"), 0o600)
	c := startSensor(t, Options{WatchedPaths: []string{watched}, ReadPaths: []string{watched + "read-"},
		Kinds: []Kind{KindOpen}}, true)

	wd, err := os.Open(watched)
	if err != nil {
		t.Fatal(err)
	}
	defer wd.Close()
	reads := []string{
		strings.Replace(secret, "/watched/", "//watched//", 1),
		strings.Replace(secret, "/watched/", "/watched/./", 1),
		strings.Replace(secret, "/watched/", "/watched/sub/../", 1),
		"/proc/self/root" + secret,
		fmt.Sprintf("/proc/self/fd/%d/read-secret", wd.Fd()),
		fmt.Sprintf("/dev/fd/%d/read-secret", wd.Fd()),
	}
	for _, p := range reads {
		if _, err := os.ReadFile(p); err != nil {
			t.Fatal(err)
		}
		c.waitFor(t, "read of "+p, func(e Event) bool {
			return e.Kind == KindOpen && e.File.Path == secret && !e.File.Write && e.Process.PID == int32(os.Getpid()) && e.Result >= 0
		})
		c.mu.Lock()
		c.ev = nil
		c.mu.Unlock()
	}
	cmd := exec.Command("/bin/cat", "/proc/self/cwd/read-secret")
	cmd.Dir = watched
	run(t, cmd)
	c.waitFor(t, "read through /proc/self/cwd", func(e Event) bool {
		return e.Kind == KindOpen && e.File.Path == secret && e.Process.PID == int32(cmd.Process.Pid)
	})

	// Writes through a symbolic link to a watched file, and through one to
	// a watched directory.
	quiet := watched + "quiet"
	os.WriteFile(quiet, []byte("x"), 0o644)
	if err := os.Symlink(quiet, filepath.Join(other, "flink")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(watched, filepath.Join(other, "dlink")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "flink"), []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, "write through a file link", func(e Event) bool {
		return e.Kind == KindOpen && e.File.Path == quiet && e.File.Write
	})
	if err := os.WriteFile(filepath.Join(other, "dlink", "planted"), []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, "write through a directory link", func(e Event) bool {
		return e.Kind == KindOpen && e.File.Path == watched+"planted" && e.File.Write
	})

	// Aliased reads and resolved writes outside the watched tree stay in
	// the kernel; a last watched write marks the end.
	os.WriteFile(filepath.Join(other, "f"), []byte("x"), 0o644)
	os.ReadFile(filepath.Join(other, ".", "f"))
	os.ReadFile("/proc/self/root" + filepath.Join(other, "f"))
	os.ReadFile(strings.Replace(quiet, "/watched/", "//watched/", 1)) // watched for writes only
	os.WriteFile(watched+"last", []byte("x"), 0o644)
	c.waitFor(t, "last write", func(e Event) bool { return e.Kind == KindOpen && e.File.Path == watched+"last" })
	c.none(t, "unwatched", func(e Event) bool {
		return e.Kind == KindOpen && (strings.HasPrefix(e.File.Path, other) || e.File.Path == quiet && !e.File.Write)
	})
}

// TestRelativePathCalls: unlink, rename and chmod of a watched file by a
// relative path (from the working directory, or a directory fd) or by
// an aliased one ("//", "..") are seen under the file's real path, as
// `cd /var/log && rm auth.log` would be; relative ones outside the
// watched tree stay in the kernel.
func TestRelativePathCalls(t *testing.T) {
	_, watched, other := fileTree(t)
	for _, f := range []string{"a", "b", "c", "d", "e"} {
		os.WriteFile(watched+f, []byte("x"), 0o644)
	}
	os.WriteFile(filepath.Join(other, "f"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(other, "g"), []byte("x"), 0o644)
	c := startSensor(t, Options{WatchedPaths: []string{watched}, Kinds: []Kind{KindUnlink, KindRename, KindChmod}}, true)

	sh := func(dir, script string) int {
		cmd := exec.Command("/bin/sh", "-c", script)
		cmd.Dir = dir
		run(t, cmd)
		return cmd.Process.Pid
	}
	sh(watched, "rm a && chmod 4755 b && mv c sub/c2")
	c.waitFor(t, "relative unlink", func(e Event) bool { return e.Kind == KindUnlink && e.File.Path == watched+"a" && e.Result == 0 })
	ch := c.waitFor(t, "relative chmod", func(e Event) bool { return e.Kind == KindChmod && e.File.Path == watched+"b" })
	if ch.File.Mode != 0o4755 {
		t.Errorf("chmod mode %o", ch.File.Mode)
	}
	c.waitFor(t, "relative rename", func(e Event) bool {
		return e.Kind == KindRename && e.File.Path == watched+"c" && e.File.NewPath == watched+"sub/c2"
	})
	// into the watched tree from outside, by a relative destination
	sh(other, "mv f ../watched/f")
	c.waitFor(t, "rename in by ..", func(e Event) bool {
		return e.Kind == KindRename && e.File.Path == filepath.Join(other, "f") && e.File.NewPath == watched+"f"
	})
	// unlinkat(dirfd, name)
	d, err := os.Open(watched)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := unix.Unlinkat(int(d.Fd()), "d", 0); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, "dirfd unlink", func(e Event) bool { return e.Kind == KindUnlink && e.File.Path == watched+"d" })
	// aliased absolute paths
	if err := os.Remove(strings.Replace(watched+"e", "/watched/", "//watched/sub/../", 1)); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, "aliased unlink", func(e Event) bool { return e.Kind == KindUnlink && e.File.Path == watched+"e" })

	sh(other, "rm g && touch h && chmod 600 h")
	os.Remove(watched + "sub/c2") // a last watched call
	c.waitFor(t, "last unlink", func(e Event) bool { return e.Kind == KindUnlink && e.File.Path == watched+"sub/c2" })
	c.none(t, "unwatched", func(e Event) bool {
		return e.File != nil && strings.HasPrefix(e.File.Path, other) && e.Kind != KindRename
	})
}

// TestLinks: a symbolic or hard link made to a read-watched file (a name
// by which it could then be read unseen) or at a watched path (a link
// planted where a unit or a cron job is read) is reported, with relative
// targets and paths resolved; links among unwatched files are not.
func TestLinks(t *testing.T) {
	_, watched, other := fileTree(t)
	secret := watched + "read-secret"
	os.WriteFile(secret, []byte("x"), 0o600)
	plain := filepath.Join(other, "f")
	os.WriteFile(plain, []byte("x"), 0o644)
	c := startSensor(t, Options{WatchedPaths: []string{watched}, ReadPaths: []string{watched + "read-"},
		Kinds: []Kind{KindLink}}, true)
	link := func(what string, target, newPath, typ string) {
		t.Helper()
		c.waitFor(t, what, func(e Event) bool {
			return e.Kind == KindLink && e.File.Path == target && e.File.NewPath == newPath && e.Args["type"] == typ && e.Result == 0
		})
	}
	if err := os.Symlink(secret, filepath.Join(other, "s1")); err != nil {
		t.Fatal(err)
	}
	link("symbolic link to a read-watched file", secret, filepath.Join(other, "s1"), "symbolic")
	if err := os.Link(secret, filepath.Join(other, "h1")); err != nil {
		t.Fatal(err)
	}
	link("hard link to a read-watched file", secret, filepath.Join(other, "h1"), "hard")
	if err := os.Symlink("../watched/read-secret", filepath.Join(other, "s2")); err != nil {
		t.Fatal(err)
	}
	link("relative symbolic link", secret, filepath.Join(other, "s2"), "symbolic")
	if err := os.Symlink(plain, watched+"planted"); err != nil {
		t.Fatal(err)
	}
	link("symbolic link planted in a watched directory", plain, watched+"planted", "symbolic")
	cmd := exec.Command("/bin/sh", "-c", "ln "+plain+" hard-planted && ln -s ../watched/read-secret ../other/s3")
	cmd.Dir = watched
	run(t, cmd)
	link("relative hard link planted", plain, watched+"hard-planted", "hard")
	link("symbolic link by relative paths", secret, filepath.Join(other, "s3"), "symbolic")

	os.Symlink(plain, filepath.Join(other, "s4"))
	os.Symlink("f", filepath.Join(other, "s5"))
	os.Link(plain, filepath.Join(other, "h2"))
	os.Symlink(plain, watched+"last")
	link("last", plain, watched+"last", "symbolic")
	c.none(t, "unwatched link", func(e Event) bool {
		return e.Kind == KindLink && strings.HasPrefix(e.File.NewPath, other) && e.File.Path != secret
	})
}

// TestFdCalls: fchmod and ftruncate, which name their file by fd, and
// truncate by a relative path are seen with the watched file's path.
func TestFdCalls(t *testing.T) {
	_, watched, other := fileTree(t)
	for _, f := range []string{watched + "a", watched + "b", filepath.Join(other, "c")} {
		os.WriteFile(f, []byte("some bytes"), 0o644)
	}
	fa, err := os.OpenFile(watched+"a", os.O_RDONLY, 0) // opened before: only the calls are seen
	if err != nil {
		t.Fatal(err)
	}
	defer fa.Close()
	fc, err := os.OpenFile(filepath.Join(other, "c"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	c := startSensor(t, Options{WatchedPaths: []string{watched}, Kinds: []Kind{KindChmod, KindTruncate}}, true)

	if err := fa.Chmod(0o755 | os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	ch := c.waitFor(t, "fchmod", func(e Event) bool { return e.Kind == KindChmod && e.File.Path == watched+"a" })
	if ch.File.Mode != 0o4755 || ch.Result != 0 {
		t.Errorf("fchmod: mode %o result %d", ch.File.Mode, ch.Result)
	}
	cmd := exec.Command("/usr/bin/truncate", "-s", "0", "b")
	cmd.Dir = watched
	run(t, cmd)
	c.waitFor(t, "truncate of a relative path", func(e Event) bool {
		return e.Kind == KindTruncate && e.File.Path == watched+"b" && e.Process.PID == int32(cmd.Process.Pid)
	})
	if err := unix.Truncate(watched+"a", 1); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, "truncate", func(e Event) bool {
		return e.Kind == KindTruncate && e.File.Path == watched+"a" && e.Process.PID == int32(os.Getpid())
	})
	fc.Chmod(0o600)
	fc.Truncate(0)
	unix.Truncate(filepath.Join(other, "c"), 0)
	fa.Chmod(0o644) // a last watched call
	c.waitFor(t, "last fchmod", func(e Event) bool { return e.Kind == KindChmod && e.File.Path == watched+"a" && e.File.Mode == 0o644 })
	c.none(t, "unwatched", func(e Event) bool { return e.File != nil && strings.HasPrefix(e.File.Path, other) })
}

// TestChmodBeyondWatched: a chmod that sets the setuid bit is seen
// wherever the file is, one that adds an execute bit under an exec
// prefix (a dropper's /tmp) too; other chmods outside watched paths are
// not.
func TestChmodBeyondWatched(t *testing.T) {
	dir := t.TempDir()
	watched, staging, other := filepath.Join(dir, "watched")+"/", filepath.Join(dir, "staging")+"/", filepath.Join(dir, "other")+"/"
	for _, d := range []string{watched, staging, other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{staging + "payload", staging + "data", other + "suid", other + "plain"} {
		os.WriteFile(f, []byte("x"), 0o644)
	}
	c := startSensor(t, Options{WatchedPaths: []string{watched}, ExecPaths: []string{staging}, Kinds: []Kind{KindChmod}}, true)
	chmod := func(p string, mode os.FileMode) {
		t.Helper()
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	chmod(other+"suid", 0o755|os.ModeSetuid)
	c.waitFor(t, "setuid anywhere", func(e Event) bool { return e.Kind == KindChmod && e.File.Path == other+"suid" && e.File.Mode == 0o4755 })
	chmod(staging+"payload", 0o755)
	c.waitFor(t, "execute bit under an exec prefix", func(e Event) bool { return e.Kind == KindChmod && e.File.Path == staging+"payload" })
	chmod(staging+"data", 0o600)
	chmod(other+"plain", 0o755)
	os.WriteFile(staging+"written", []byte("x"), 0o644) // exec prefixes are not watched for writes
	os.WriteFile(watched+"w", []byte("x"), 0o644)
	chmod(watched+"w", 0o600) // a last watched chmod
	c.waitFor(t, "watched chmod", func(e Event) bool { return e.Kind == KindChmod && e.File.Path == watched+"w" })
	c.none(t, "unreported chmod", func(e Event) bool {
		return e.File != nil && (e.File.Path == staging+"data" || e.File.Path == other+"plain" || e.File.Path == staging+"written")
	})
}

// TestOpensBeyondWatched: what no watched prefix says but a rule needs —
// a release_agent written wherever the cgroup hierarchy is mounted,
// another process's memory read through /proc, and a file of another
// mount namespace reached through /proc/PID/root.
func TestOpensBeyondWatched(t *testing.T) {
	dir := t.TempDir()
	cg := filepath.Join(dir, "cg")
	os.MkdirAll(cg, 0o755)
	c := startSensor(t, Options{WatchedPaths: []string{filepath.Join(dir, "watched") + "/"}, Kinds: []Kind{KindOpen}}, true)

	if err := os.WriteFile(filepath.Join(cg, "release_agent"), []byte("/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, "release_agent write", func(e Event) bool {
		return e.Kind == KindOpen && e.File.Path == filepath.Join(cg, "release_agent") && e.File.Write
	})

	sleeper := exec.Command("/bin/sleep", "5")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer sleeper.Process.Kill()
	mem := fmt.Sprintf("/proc/%d/mem", sleeper.Process.Pid)
	f, err := os.Open(mem)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	c.waitFor(t, "memory read", func(e Event) bool { return e.Kind == KindOpen && e.File.Path == mem && !e.File.Write })

	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skipf("no unshare: %v", err)
	}
	// A reader in a mount namespace of its own reads the host's file
	// through a host process's root, as a container sharing the host's
	// PID namespace would (PID 1's is hidden on some hosts).
	through := fmt.Sprintf("/proc/%d/root/etc/hostname", sleeper.Process.Pid)
	cmd := exec.Command("unshare", "-m", "/bin/cat", through)
	run(t, cmd)
	ev := c.waitFor(t, "another mount namespace's file", func(e Event) bool {
		return e.Kind == KindOpen && e.File.Path == "/etc/hostname" && e.Process.Name == "cat"
	})
	if ev.Args["openedAs"] != through {
		t.Errorf("openedAs %v, want %s", ev.Args["openedAs"], through)
	}
	os.ReadFile(through) // from the host's own namespace: inventory, not reported
	os.WriteFile(filepath.Join(cg, "notify_on_release"), []byte("1\n"), 0o644)
	c.waitFor(t, "last write", func(e Event) bool { return e.Kind == KindOpen && strings.HasSuffix(e.File.Path, "/notify_on_release") })
	c.none(t, "the host's own /proc/PID/root reads", func(e Event) bool {
		return e.Kind == KindOpen && e.Process.PID == int32(os.Getpid()) && e.File.Path == "/etc/hostname"
	})
}

// TestOpenByHandle: open_by_handle_at names no path — a file handle
// opens the file — so every call is reported, with the file's path
// where it can be walked.
func TestOpenByHandle(t *testing.T) {
	_, watched, other := fileTree(t)
	plain := filepath.Join(other, "f")
	os.WriteFile(plain, []byte("x"), 0o644)
	c := startSensor(t, Options{WatchedPaths: []string{watched}, Kinds: []Kind{KindOpen}}, true)
	h, _, err := unix.NameToHandleAt(unix.AT_FDCWD, plain, 0)
	if err != nil {
		t.Skipf("name_to_handle_at: %v (the file system has no handles)", err)
	}
	mfd, err := unix.Open(other, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(mfd)
	fd, err := unix.OpenByHandleAt(mfd, h, unix.O_RDONLY)
	if err != nil {
		t.Fatalf("open_by_handle_at: %v", err)
	}
	unix.Close(fd)
	ev := c.waitFor(t, "open by handle", func(e Event) bool {
		return e.Kind == KindOpen && e.Args["via"] == "open_by_handle_at" && e.Process.PID == int32(os.Getpid())
	})
	if ev.File.Path != plain || ev.Result < 0 {
		t.Errorf("open by handle: path %q result %d, want %s", ev.File.Path, ev.Result, plain)
	}
}

// TestSetns: joining namespaces is reported with the namespace's type
// and inode, marked when it is one of the host's (the sensor's own), by
// an nsfs file or by a pidfd.
func TestSetns(t *testing.T) {
	c := startSensor(t, Options{Kinds: []Kind{KindSetns}}, true)
	done := make(chan error, 1)
	go func() {
		// setns changes the calling thread: a thread of its own, never
		// reused (it is not unlocked).
		runtime.LockOSThread()
		fd, err := unix.Open("/proc/self/ns/uts", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- err
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWUTS); err != nil {
			done <- err
			return
		}
		pidfd, err := unix.PidfdOpen(os.Getpid(), 0)
		if err != nil {
			done <- nil // no pidfds: the nsfs case is checked
			return
		}
		defer unix.Close(pidfd)
		done <- unix.Setns(pidfd, unix.CLONE_NEWUTS)
	}()
	if err := <-done; err != nil {
		t.Fatalf("setns: %v", err)
	}
	ev := c.waitFor(t, "setns by nsfs file", func(e Event) bool {
		return e.Kind == KindSetns && e.Process.PID == int32(os.Getpid()) && e.Args["nsInum"] != int64(0)
	})
	if ev.Args["nsType"] != "uts" || ev.Args["host"] != int64(1) || ev.Result != 0 {
		t.Errorf("setns: args %v result %d", ev.Args, ev.Result)
	}
	ev = c.waitFor(t, "setns by pidfd", func(e Event) bool {
		return e.Kind == KindSetns && e.Args["targetPid"] == int64(os.Getpid())
	})
	if ev.Target == nil || ev.Args["host"] != int64(1) {
		t.Errorf("setns by pidfd: args %v target %+v", ev.Args, ev.Target)
	}
}
