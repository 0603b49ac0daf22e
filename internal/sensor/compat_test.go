package sensor

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vigil-sec/vigil/internal/fixture"
)

// compatProgram is a static program without a C library that makes its
// system calls through int 0x80 — the ia32 compat entry a 32-bit program
// uses, open to any 64-bit one — as an attacker evading a sensor that
// judges only native system calls would. Its data sits below 4 GiB (a
// static, non-PIE executable), where 32-bit pointers reach. Its first
// system call, the open, is also the first touch of the page that holds
// its paths: at the call's entry the sensor cannot read the path yet.
const compatProgram = `
static long sys32(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}

static const char path[] = %q;
static const char moved[] = %q;
static const char memname[] = "vigil-compat";
static const unsigned char addr[16] = {2, 0, %d, %d, 127, 0, 0, 1};
static const unsigned char any[16] = {2, 0, 0, 0, 127, 0, 0, 1}; /* 127.0.0.1, any port */
static unsigned int sargs[3]; /* socketcall's argument words: below 4 GiB */

void _start(void)
{
	long fd = sys32(5, (long)path, 01 | 0100, 0600); /* open(O_WRONLY|O_CREAT) */
	sys32(6, fd, 0, 0);                               /* close */
	sys32(15, (long)path, 04755, 0);                  /* chmod */
	sys32(38, (long)path, (long)moved, 0);            /* rename */
	sys32(10, (long)moved, 0, 0);                     /* unlink */
	sys32(356, (long)memname, 0, 0);                  /* memfd_create */
	long s = sys32(359, 2, 1, 0);                     /* socket(AF_INET, SOCK_STREAM) */
	sys32(362, s, (long)addr, 16);                    /* connect */
	s = sys32(359, 2, 1, 0);
	sargs[0] = s, sargs[1] = (unsigned int)(long)addr, sargs[2] = 16;
	sys32(102, 3, (long)sargs, 0);                    /* socketcall(SYS_CONNECT) */
	s = sys32(359, 2, 1, 0);
	sargs[0] = s, sargs[1] = (unsigned int)(long)any, sargs[2] = 16;
	sys32(102, 2, (long)sargs, 0);                    /* socketcall(SYS_BIND) */
	sargs[1] = 7;
	sys32(102, 4, (long)sargs, 0);                    /* socketcall(SYS_LISTEN) */
	sys32(46, 65534, 0, 0);                           /* setgid, 16-bit ids */
	sys32(213, 65534, 0, 0);                          /* setuid32 */
	sys32(1, 0, 0, 0);                                /* exit */
	for (;;)
		;
}
`

// TestCompatSyscalls: file, memfd, network (direct and through
// socketcall) and credential calls made through the ia32 entry are seen
// as the native ones are, and a path on a
// page not yet faulted in is read at the call's exit.
func TestCompatSyscalls(t *testing.T) {
	fixture.NeedTool(t, "clang")
	dir := t.TempDir()
	watched := filepath.Join(dir, "watched") + "/"
	if err := os.MkdirAll(watched, 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	path, moved := watched+"compat", watched+"compat-moved"
	src := filepath.Join(dir, "int80.c")
	if err := os.WriteFile(src, fmt.Appendf(nil, compatProgram, path, moved, port>>8, port&0xff), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "int80")
	if out, err := exec.Command("clang", "-static", "-nostdlib", "-no-pie", "-fno-pic", "-fno-stack-protector", "-O1",
		"-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("clang cannot build a static x86-64 program: %v\n%s", err, out)
	}

	c := startSensor(t, Options{WatchedPaths: []string{watched},
		Kinds: []Kind{KindExec, KindOpen, KindChmod, KindRename, KindUnlink, KindMemfd, KindConnect, KindBind, KindListen, KindSetUID, KindSetGID}}, true)
	cmd := exec.Command(bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, out)
	}
	pid := int32(cmd.Process.Pid)
	mine := func(e Event) bool { return e.Process.PID == pid }
	op := c.waitFor(t, "ia32 open", func(e Event) bool { return mine(e) && e.Kind == KindOpen && e.File.Path == path })
	if !op.File.Write || op.Result < 0 {
		t.Errorf("open: %+v result %d", *op.File, op.Result)
	}
	if ch := c.waitFor(t, "ia32 chmod", func(e Event) bool { return mine(e) && e.Kind == KindChmod && e.File.Path == path }); ch.File.Mode != 0o4755 {
		t.Errorf("chmod mode %o", ch.File.Mode)
	}
	c.waitFor(t, "ia32 rename", func(e Event) bool {
		return mine(e) && e.Kind == KindRename && e.File.Path == path && e.File.NewPath == moved
	})
	c.waitFor(t, "ia32 unlink", func(e Event) bool { return mine(e) && e.Kind == KindUnlink && e.File.Path == moved && e.Result == 0 })
	c.waitFor(t, "ia32 memfd_create", func(e Event) bool { return mine(e) && e.Kind == KindMemfd && e.Args["name"] == "vigil-compat" })
	connects := func(e Event) bool {
		return mine(e) && e.Kind == KindConnect && e.Network.DstAddr == "127.0.0.1" && e.Network.DstPort == uint16(port)
	}
	direct := c.waitFor(t, "ia32 connect", connects)
	c.waitFor(t, "ia32 socketcall connect", func(e Event) bool { return connects(e) && e.Network.SrcPort != direct.Network.SrcPort })
	c.waitFor(t, "ia32 socketcall bind", func(e Event) bool {
		return mine(e) && e.Kind == KindBind && e.Network.SrcAddr == "127.0.0.1" && e.Result == 0
	})
	c.waitFor(t, "ia32 socketcall listen", func(e Event) bool { // on the port bind chose
		return mine(e) && e.Kind == KindListen && e.Network.SrcAddr == "127.0.0.1" && e.Network.SrcPort != 0 && e.Result == 0
	})
	c.waitFor(t, "ia32 setgid (16-bit)", func(e Event) bool { return mine(e) && e.Kind == KindSetGID && e.Cred.GID == 65534 })
	c.waitFor(t, "ia32 setuid32", func(e Event) bool { return mine(e) && e.Kind == KindSetUID && e.Cred.UID == 65534 })
}
