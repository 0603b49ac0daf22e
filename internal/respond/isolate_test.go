package respond

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/fixture"
)

// testNS is a network namespace made for one test, joined to the host by a
// veth pair carrying a /30 from the RFC 2544 benchmarking range that exists
// only on that pair.
type testNS struct {
	name   string
	nsIP   string
	pid    int    // the listener inside
	port   string // its port
	binary string
}

// newTestNS creates the namespace and link and starts the listener helper
// inside it; everything is removed when the test ends.
func newTestNS(t *testing.T) *testNS {
	t.Helper()
	fixture.NeedRoot(t)
	fixture.NeedTool(t, "ip")
	id := os.Getpid() % 16384
	n := &testNS{name: fmt.Sprintf("vigil-respond-%d", os.Getpid())}
	hostIf, nsIf := fmt.Sprintf("vrh%d", os.Getpid()%100000), fmt.Sprintf("vrn%d", os.Getpid()%100000)
	hostIP := fmt.Sprintf("198.19.%d.%d", id/64, id%64*4+1)
	n.nsIP = fmt.Sprintf("198.19.%d.%d", id/64, id%64*4+2)
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	if out, err := exec.Command("ip", "netns", "add", n.name).CombinedOutput(); err != nil {
		fixture.Unavailable(t, fmt.Sprintf("cannot create a network namespace: %v: %s", err, out))
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", n.name).Run() })
	ip("link", "add", hostIf, "type", "veth", "peer", "name", nsIf)
	t.Cleanup(func() { exec.Command("ip", "link", "del", hostIf).Run() })
	ip("link", "set", nsIf, "netns", n.name)
	ip("addr", "add", hostIP+"/30", "dev", hostIf)
	ip("link", "set", hostIf, "up")
	ip("-n", n.name, "addr", "add", n.nsIP+"/30", "dev", nsIf)
	ip("-n", n.name, "link", "set", nsIf, "up")
	ip("-n", n.name, "link", "set", "lo", "up")

	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	n.binary = bin
	cmd := exec.Command("ip", "netns", "exec", n.name, bin)
	cmd.Env = append(os.Environ(), helperEnv+"=listen")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "ready" {
			t.Fatalf("listener said %q", line)
		}
		n.pid, _ = strconv.Atoi(f[1])
		n.port = f[2]
	case <-time.After(10 * time.Second):
		t.Fatal("listener not ready after 10 s")
	}
	return n
}

// dialFromHost connects over the veth pair.
func (n *testNS) dialFromHost(timeout time.Duration) error {
	return dialOK(net.JoinHostPort(n.nsIP, n.port), timeout)
}

// dialInside connects to the listener over loopback from inside the
// namespace, through a helper started there.
func (n *testNS) dialInside() error {
	cmd := exec.Command("ip", "netns", "exec", n.name, n.binary)
	cmd.Env = append(os.Environ(), helperEnv+"=dial", addrEnv+"=127.0.0.1:"+n.port)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("dial inside: %w: %s", err, out)
	}
	return nil
}

// hasIsolateTable looks into the namespace of pid.
func hasIsolateTable(t *testing.T, pid int) bool {
	t.Helper()
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/net", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	c, err := nftables.New(nftables.WithNetNSFd(fd))
	if err != nil {
		t.Fatal(err)
	}
	ok, err := hasTable(c)
	if err != nil {
		fixture.Unavailable(t, fmt.Sprintf("nftables unavailable in the kernel: %v", err))
	}
	return ok
}

func TestIsolate(t *testing.T) {
	n := newTestNS(t)
	hasIsolateTable(t, n.pid) // skips when the kernel has no nf_tables
	if err := n.dialFromHost(2 * time.Second); err != nil {
		t.Fatalf("before isolation, host → namespace: %v", err)
	}
	st, err := readStat(int32(n.pid))
	if err != nil {
		t.Fatal(err)
	}
	target := IsolateTarget{PID: int32(n.pid), StartTime: st.StartTicks * nsPerTick, Container: "test"}

	dry := New(Options{DryRun: true})
	rec, err := dry.Isolate(target)
	if err != nil || !rec.DryRun || !strings.HasPrefix(rec.Detail, "would install") {
		t.Fatalf("dry-run Isolate = %+v, %v", rec, err)
	}
	if hasIsolateTable(t, n.pid) {
		t.Fatal("dry-run Isolate installed the table")
	}

	r := New(Options{})
	rec, err = r.Isolate(target)
	if err != nil {
		t.Fatalf("Isolate: %v", err)
	}
	t.Logf("record: %+v", rec)
	if !hasIsolateTable(t, n.pid) {
		t.Fatal("no table after Isolate")
	}
	if _, err := exec.LookPath("nft"); err == nil {
		out, err := exec.Command("ip", "netns", "exec", n.name, "nft", "list", "table", "inet", IsolateTable).CombinedOutput()
		if err != nil {
			t.Fatalf("nft list: %v\n%s", err, out)
		}
		t.Logf("ruleset in the namespace:\n%s", out)
		for _, want := range []string{"hook input", "hook output", "hook forward", "policy drop", `iifname "lo" accept`, `oifname "lo" accept`} {
			if !strings.Contains(string(out), want) {
				t.Errorf("ruleset lacks %q", want)
			}
		}
	}
	if err := n.dialFromHost(300 * time.Millisecond); err == nil {
		t.Fatal("host → namespace still connects after Isolate")
	} else {
		t.Logf("host → namespace while isolated: %v", err)
	}
	if err := n.dialInside(); err != nil {
		t.Fatalf("loopback inside the isolated namespace: %v", err)
	}
	if _, err := r.Isolate(target); err != nil { // replaces the table
		t.Fatalf("Isolate again: %v", err)
	}
	if err := n.dialFromHost(300 * time.Millisecond); err == nil {
		t.Fatal("host → namespace connects after a second Isolate")
	}

	if rec, err := dry.Unisolate(target); err != nil || !strings.HasPrefix(rec.Detail, "would delete") || !hasIsolateTable(t, n.pid) {
		t.Fatalf("dry-run Unisolate = %+v, %v (table present: %v)", rec, err, hasIsolateTable(t, n.pid))
	}
	rec, err = r.Unisolate(target)
	if err != nil {
		t.Fatalf("Unisolate: %v", err)
	}
	t.Logf("record: %+v", rec)
	if hasIsolateTable(t, n.pid) {
		t.Fatal("table still there after Unisolate")
	}
	if err := n.dialFromHost(2 * time.Second); err != nil {
		t.Fatalf("after Unisolate, host → namespace: %v", err)
	}
	if rec, err := r.Unisolate(target); err != nil || !strings.Contains(rec.Detail, "not isolated") {
		t.Errorf("Unisolate of a clean namespace = %+v, %v", rec, err)
	}
}

func TestIsolateRefuses(t *testing.T) {
	n := newTestNS(t)
	st, err := readStat(int32(n.pid))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		target IsolateTarget
		want   error
	}{
		{"self", IsolateTarget{PID: int32(os.Getpid())}, ErrHostNetwork},
		{"pid 0", IsolateTarget{PID: 0}, ErrIdentity},
		{"start time differs", IsolateTarget{PID: int32(n.pid), StartTime: (st.StartTicks + 500) * nsPerTick}, ErrIdentity},
	}
	if _, err := os.Stat("/proc/1/ns/net"); err == nil {
		tests = append(tests, struct {
			name   string
			target IsolateTarget
			want   error
		}{"pid 1", IsolateTarget{PID: 1}, ErrHostNetwork})
	} else {
		t.Logf("pid 1 case left out: %v", err)
	}
	for _, dry := range []bool{false, true} {
		r := New(Options{DryRun: dry})
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/dry-run=%v", tt.name, dry), func(t *testing.T) {
				for _, act := range []func(IsolateTarget) (Record, error){r.Isolate, r.Unisolate} {
					rec, err := act(tt.target)
					if !errors.Is(err, tt.want) || rec.Err == "" {
						t.Errorf("%s: %+v, %v; want %v", rec.Action, rec, err, tt.want)
					}
				}
			})
		}
	}
	if hasIsolateTable(t, n.pid) {
		t.Error("a refused Isolate touched the namespace")
	}
}
