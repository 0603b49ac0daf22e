package sensor

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/fixture"
)

// ringProgram makes its file and network calls through io_uring, as a
// rootkit hiding from system-call hooks would ("curing"): the only
// system calls are io_uring_setup, io_uring_enter, socket and the ring's
// mmaps. Arguments: a read-watched file, a directory (for an open
// relative to its fd), the name of a read-watched file in it, a watched
// file to unlink, a watched file to rename and its new name, a path for a
// symbolic link to the first file, and a loopback port to connect to.
const ringProgram = `
#include <linux/io_uring.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int ring;
static unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
static struct io_uring_sqe *sqes;
static struct io_uring_cqe *cqes;

static void *map(size_t n, off_t off)
{
	void *p = mmap(0, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, off);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	return p;
}

static void setup(void)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	ring = syscall(__NR_io_uring_setup, 4, &p);
	if (ring < 0) {
		perror("io_uring_setup");
		exit(3);
	}
	char *sq = map(p.sq_off.array + p.sq_entries * sizeof(unsigned), IORING_OFF_SQ_RING);
	char *cq = map(p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe), IORING_OFF_CQ_RING);
	sqes = map(p.sq_entries * sizeof(struct io_uring_sqe), IORING_OFF_SQES);
	sq_tail = (unsigned *)(sq + p.sq_off.tail);
	sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
	sq_array = (unsigned *)(sq + p.sq_off.array);
	cq_head = (unsigned *)(cq + p.cq_off.head);
	cq_tail = (unsigned *)(cq + p.cq_off.tail);
	cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
	cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
}

static int run(const char *what, struct io_uring_sqe *in)
{
	unsigned tail = *sq_tail, idx = tail & *sq_mask;
	sqes[idx] = *in;
	sq_array[idx] = idx;
	__atomic_store_n(sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0) {
		perror("io_uring_enter");
		exit(2);
	}
	unsigned head = *cq_head;
	while (head == __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE))
		;
	int res = cqes[head & *cq_mask].res;
	__atomic_store_n(cq_head, head + 1, __ATOMIC_RELEASE);
	printf("%s %d\n", what, res);
	return res;
}

int main(int argc, char **argv)
{
	if (argc != 9)
		return 1;
	setup();
	struct io_uring_sqe s;

	memset(&s, 0, sizeof(s));
	s.opcode = IORING_OP_OPENAT;
	s.fd = AT_FDCWD;
	s.addr = (unsigned long)argv[1];
	s.open_flags = O_RDONLY;
	run("open", &s);

	int dir = open(argv[2], O_RDONLY | O_DIRECTORY);
	memset(&s, 0, sizeof(s));
	s.opcode = IORING_OP_OPENAT;
	s.fd = dir;
	s.addr = (unsigned long)argv[3];
	s.open_flags = O_RDONLY;
	run("open-at", &s);

	memset(&s, 0, sizeof(s));
	s.opcode = IORING_OP_UNLINKAT;
	s.fd = AT_FDCWD;
	s.addr = (unsigned long)argv[4];
	run("unlink", &s);

	memset(&s, 0, sizeof(s));
	s.opcode = IORING_OP_RENAMEAT;
	s.fd = AT_FDCWD;
	s.addr = (unsigned long)argv[5];
	s.len = AT_FDCWD;
	s.addr2 = (unsigned long)argv[6];
	run("rename", &s);

	memset(&s, 0, sizeof(s));
	s.opcode = IORING_OP_SYMLINKAT;
	s.fd = AT_FDCWD;
	s.addr = (unsigned long)argv[1];
	s.addr2 = (unsigned long)argv[7];
	run("symlink", &s);

	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(atoi(argv[8]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memset(&s, 0, sizeof(s));
	s.opcode = IORING_OP_CONNECT;
	s.fd = socket(AF_INET, SOCK_STREAM, 0);
	s.addr = (unsigned long)&sa;
	s.off = sizeof(sa);
	run("connect", &s);
	return 0;
}
`

// TestIOURing: opens, an unlink, a rename, a symbolic link and a connect
// submitted through io_uring — no system call of their own — are seen
// and marked as such.
func TestIOURing(t *testing.T) {
	fixture.NeedTool(t, "clang")
	dir, watched, other := fileTree(t)
	secret, secret2 := watched+"read-secret", watched+"read-second"
	victim, from, to := watched+"victim", watched+"from", watched+"to"
	for _, f := range []string{secret, secret2, victim, from} {
		os.WriteFile(f, []byte("x"), 0o600)
	}
	link := filepath.Join(other, "link")
	src := filepath.Join(dir, "ring.c")
	if err := os.WriteFile(src, []byte(ringProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "ring")
	if out, err := exec.Command("clang", "-O1", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("clang: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port

	c := startSensor(t, Options{WatchedPaths: []string{watched}, ReadPaths: []string{watched + "read-"},
		Kinds: []Kind{KindOpen, KindUnlink, KindRename, KindLink, KindConnect}}, true)
	cmd := exec.Command(bin, secret, watched, "read-second", victim, from, to, link, strconv.Itoa(port))
	out, err := cmd.CombinedOutput()
	if err != nil {
		if code := cmd.ProcessState.ExitCode(); code == 3 && strings.Contains(string(out), "io_uring_setup") {
			t.Skipf("io_uring is not allowed here: %s", out)
		}
		t.Fatalf("%s: %v\n%s", bin, err, out)
	}
	t.Logf("ring program: %s", strings.ReplaceAll(strings.TrimSpace(string(out)), "\n", ", "))
	pid := int32(cmd.Process.Pid)
	ring := func(e Event) bool { return e.Process.PID == pid && e.Args["via"] == "io_uring" }
	c.waitFor(t, "io_uring open", func(e Event) bool { return ring(e) && e.Kind == KindOpen && e.File.Path == secret && !e.File.Write })
	c.waitFor(t, "io_uring open relative to a directory fd", func(e Event) bool { return ring(e) && e.Kind == KindOpen && e.File.Path == secret2 })
	c.waitFor(t, "io_uring unlink", func(e Event) bool { return ring(e) && e.Kind == KindUnlink && e.File.Path == victim })
	c.waitFor(t, "io_uring rename", func(e Event) bool {
		return ring(e) && e.Kind == KindRename && e.File.Path == from && e.File.NewPath == to
	})
	c.waitFor(t, "io_uring symbolic link", func(e Event) bool {
		return ring(e) && e.Kind == KindLink && e.File.Path == secret && e.File.NewPath == link && e.Args["type"] == "symbolic"
	})
	c.waitFor(t, "io_uring connect", func(e Event) bool {
		return ring(e) && e.Kind == KindConnect && e.Network.DstAddr == "127.0.0.1" && e.Network.DstPort == uint16(port)
	})
}
