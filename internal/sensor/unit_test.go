package sensor

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestContainerIDFromCgroup(t *testing.T) {
	id := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct{ name, in, want string }{
		{"host v2", "0::/\n", ""},
		{"host v1", "4:memory:/user.slice\n1:name=systemd:/init.scope\n", ""},
		{"docker cgroupfs", "4:memory:/docker/" + id + "\n0::/\n", id},
		{"docker systemd", "0::/system.slice/docker-" + id + ".scope\n", id},
		{"containerd", "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-" + id + ".scope\n", id},
		{"kubepods cgroupfs", "0::/kubepods/burstable/pod5d2c/" + id + "\n", id},
		{"crio", "0::/kubepods.slice/crio-" + id + ".scope\n", id},
		{"short hex", "0::/docker/0123abcd\n", ""},
		{"upper hex", "0::/docker/0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\n", ""},
		{"garbage", "no colons here", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := containerIDFromCgroup([]byte(tt.in)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPathMatch(t *testing.T) {
	m := newPathMatcher([]string{"/etc/", "/home/*/.ssh/", "/home/*/.bash", "/var/run/docker.sock"})
	tests := []struct {
		path string
		want bool
	}{
		{"/etc/shadow", true},
		{"/home/alice/.ssh/id_rsa", true},
		{"/home/alice/.ssh", false},
		{"/home/alice/.bashrc", true},
		{"/home/alice/notes.txt", false},
		{"/home/alice/x/.ssh/id_rsa", false},
		{"/var/run/docker.sock", true},
		{"/etcetera", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := m.match(tt.path); got != tt.want {
			t.Errorf("match(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		ok   bool
	}{
		{"zero", Options{}, true},
		{"relative path", Options{WatchedPaths: []string{"etc/"}}, false},
		{"ring not power of two", Options{RingBufferSize: 5000}, false},
		{"unknown kind", Options{Kinds: []Kind{"nope"}}, false},
		{"good", Options{WatchedPaths: []string{"/srv/"}, RingBufferSize: 1 << 20, Kinds: []Kind{KindExec}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.o.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestLinkKind(t *testing.T) {
	for in, want := range map[string]string{
		"socket:[123]": "socket", "pipe:[9]": "pipe", "/dev/pts/0": "tty", "/dev/null": "null",
		"/tmp/x": "file", "/dev/tty1": "tty",
	} {
		if got := linkKind(in); got != want {
			t.Errorf("linkKind(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseStat(t *testing.T) {
	st, err := parseStat([]byte("42 (a (weird) name) S 7 42 42 34816 42 4194560 1 2 3 4 5 6 7 8 20 0 1 0 12345 1 2 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if st.comm != "a (weird) name" || st.ppid != 7 || !st.tty || st.start != 12345*tickNS {
		t.Errorf("%+v", st)
	}
	if _, err := parseStat([]byte("42 (x) S 1")); err == nil {
		t.Error("short stat parsed")
	}
}

func TestProcCache(t *testing.T) {
	c := newProcCache(3, time.Second)
	put := func(pid, ppid int32) {
		c.put(&procEntry{key: procKey{pid, uint64(pid)}, p: Process{PID: pid, PPID: ppid}})
	}
	put(1, 0)
	put(2, 1)
	put(3, 2)
	if got := c.ancestry(&Process{PID: 4, PPID: 3}, nil); len(got) != 3 || got[0].PID != 3 || got[2].PID != 1 {
		t.Errorf("ancestry = %+v", got)
	}
	put(4, 3) // evicts the least recently used
	if c.len() != 3 {
		t.Errorf("len %d", c.len())
	}
	// cycles end the walk
	c.put(&procEntry{key: procKey{5, 5}, p: Process{PID: 5, PPID: 6}})
	c.put(&procEntry{key: procKey{6, 6}, p: Process{PID: 6, PPID: 5}})
	if got := c.ancestry(&Process{PID: 7, PPID: 5}, nil); len(got) != 2 {
		t.Errorf("cycle ancestry = %+v", got)
	}
	now := time.Now()
	c.exit(procKey{6, 6}, now)
	c.expire(now)
	if c.get(procKey{6, 6}) == nil {
		t.Error("removed before the grace period")
	}
	c.expire(now.Add(2 * time.Second))
	if c.get(procKey{6, 6}) != nil || c.pid(6) != nil {
		t.Error("not removed after the grace period")
	}
}

// connectorMsg builds one netlink datagram holding a proc event.
func connectorMsg(what uint32, data ...uint32) []byte {
	ev := make([]byte, 16+4*len(data))
	binary.NativeEndian.PutUint32(ev[0:], what)
	for i, d := range data {
		binary.NativeEndian.PutUint32(ev[16+4*i:], d)
	}
	msg := make([]byte, nlmsgHdrLen+cnMsgLen+len(ev))
	binary.NativeEndian.PutUint32(msg[0:], uint32(len(msg)))
	binary.NativeEndian.PutUint16(msg[4:], 3)
	binary.NativeEndian.PutUint32(msg[nlmsgHdrLen:], cnIdxProc)
	binary.NativeEndian.PutUint32(msg[nlmsgHdrLen+4:], cnValProc)
	binary.NativeEndian.PutUint16(msg[nlmsgHdrLen+16:], uint16(len(ev)))
	copy(msg[nlmsgHdrLen+cnMsgLen:], ev)
	return msg
}

func TestDecodeConnector(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want procEvent
	}{
		{"fork", connectorMsg(procEventFork, 10, 10, 11, 11), procEvent{what: procEventFork, ppid: 10, pid: 11, tgid: 11}},
		{"exec", connectorMsg(procEventExec, 11, 11), procEvent{what: procEventExec, pid: 11, tgid: 11}},
		{"exit", connectorMsg(procEventExit, 11, 11, 256, 17, 10, 10), procEvent{what: procEventExit, pid: 11, tgid: 11, exitCode: 256, ppid: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := decodeConnector(tt.b)
			if err != nil || len(evs) != 1 || evs[0] != tt.want {
				t.Errorf("got %+v, %v; want %+v", evs, err, tt.want)
			}
		})
	}
	if _, err := decodeConnector(connectorMsg(procEventExit, 1, 1)); err == nil {
		t.Error("short exit decoded")
	}
}

func FuzzDecodeConnector(f *testing.F) {
	f.Add(connectorMsg(procEventFork, 10, 10, 11, 11))
	f.Add(connectorMsg(procEventExec, 11, 11))
	f.Add(append(connectorMsg(procEventExit, 11, 11, 0, 17, 10, 10), connectorMsg(procEventExec, 1, 1)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeConnector(b)
	})
}

// A binary run through another process's descriptor resolves to the file
// behind it, deleted or not, when the new process is already gone.
func TestFdExe(t *testing.T) {
	p := procfs{root: "/proc"}
	bin := filepath.Join(t.TempDir(), "vigil-bin")
	if err := os.WriteFile(bin, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	name := fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), f.Fd())
	if path, del, memfd, ok := p.fdExe(name); !ok || path != bin || del || memfd {
		t.Errorf("fdExe(%s) = %q %v %v %v", name, path, del, memfd, ok)
	}
	os.Remove(bin)
	if path, del, _, ok := p.fdExe(name); !ok || path != bin || !del {
		t.Errorf("fdExe after unlink = %q deleted %v ok %v", path, del, ok)
	}
	for _, bad := range []string{"/bin/true", "/proc/self/fd/x", "/proc/1/fd/-1", "/proc/x/fd/1", "/proc/999999999/fd/3"} {
		if _, _, _, ok := p.fdExe(bad); ok {
			t.Errorf("fdExe(%q) resolved", bad)
		}
	}
}

func TestWantsHook(t *testing.T) {
	o := Options{Kinds: []Kind{KindBind, KindExec}}
	for hook, want := range map[string]bool{
		"bind": true, "connect": false, "openat": false,
		"socketcall":         true, // reports bind among others
		"sched_process_exec": true, // not a syscall hook: always
	} {
		if got := o.wantsHook(hook); got != want {
			t.Errorf("Kinds %v: wantsHook(%q) = %v, want %v", o.Kinds, hook, got, want)
		}
	}
	if (&Options{Kinds: []Kind{KindOpen}}).wantsHook("socketcall") {
		t.Error("socketcall loaded with no socket kind enabled")
	}
	if !(&Options{}).wantsHook("socketcall") {
		t.Error("socketcall not loaded with every kind enabled")
	}
}
