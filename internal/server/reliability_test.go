package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/agentpb"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/pki"
	"github.com/vigil-sec/vigil/internal/store"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// vigilBinary builds cmd/vigil once per test binary.
func vigilBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vigil-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "vigil")
		out, err := exec.Command("go", "build", "-o", binPath, "../../cmd/vigil").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func freePort(t *testing.T, host string) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serverProc is `vigil server` as a separate process, killable with -9.
type serverProc struct {
	t                  *testing.T
	bin, data          string
	apiAddr, agentAddr string
	wrap               []string // e.g. ip netns exec NS
	extra              []string
	cmd                *exec.Cmd
	exited             chan struct{}
}

func (p *serverProc) start() {
	p.t.Helper()
	args := append([]string{}, p.wrap...)
	args = append(args, p.bin, "server", "--api-addr", p.apiAddr, "--agent-addr", p.agentAddr, "--data", p.data,
		"--local-agent=false", "--vulndb", filepath.Join(p.data, "no-vulndb.sqlite"), "--log-level", "warn")
	args = append(args, p.extra...)
	p.cmd = exec.Command(args[0], args[1:]...)
	p.cmd.Env = append(os.Environ(), "VIGIL_ADMIN_PASSWORD="+adminPassword)
	p.cmd.Stdout = p.t.Output()
	p.cmd.Stderr = p.t.Output()
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.exited = make(chan struct{})
	go func() { p.cmd.Wait(); close(p.exited) }()
	p.t.Cleanup(p.kill)
	c := &client{t: p.t, base: "http://" + p.apiAddr}
	eventually(p.t, "the server", func() bool {
		select {
		case <-p.exited:
			p.t.Fatal("server exited at start")
		default:
		}
		conn, err := net.DialTimeout("tcp", p.apiAddr, 100*time.Millisecond)
		if err != nil {
			return false
		}
		conn.Close()
		return c.do("GET", "/healthz", nil, nil) == 200
	})
}

func (p *serverProc) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

func (p *serverProc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		p.t.Error("server did not stop on SIGTERM")
		p.kill()
	}
}

// enroll logs in as admin and creates an enrollment token; it returns it
// with the CA pin.
func (p *serverProc) enroll() (token, pin string) {
	p.t.Helper()
	c := &client{t: p.t, base: "http://" + p.apiAddr}
	var login struct{ Token string }
	if code := c.do("POST", "/api/v1/login", map[string]string{"name": "admin", "password": adminPassword}, &login); code != 200 {
		p.t.Fatalf("login: %d", code)
	}
	c.token = login.Token
	var created struct{ Token string }
	if code := c.do("POST", "/api/v1/enrollment-tokens", map[string]any{"name": "reliability", "maxUses": 1}, &created); code != 201 {
		p.t.Fatalf("create enrollment token: %d", code)
	}
	ca, err := pki.LoadOrCreateCA(filepath.Join(p.data, "ca"))
	if err != nil {
		p.t.Fatal(err)
	}
	return created.Token, pki.Fingerprint(ca.Certificate())
}

// storedEvents opens the (stopped) server's store and returns how many
// times each event number was stored.
func storedEvents(t *testing.T, data, agentID string) map[int]int {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(data, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	seen := map[int]int{}
	o := store.ListOptions{Filter: map[string]string{"agent_id": agentID, "kind": "test.event"}, Limit: 1000}
	for {
		p, err := st.ListEvents(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Items {
			var d struct{ I int }
			if err := json.Unmarshal(e.Data, &d); err != nil {
				t.Fatal(err)
			}
			seen[d.I]++
		}
		if p.Next == "" {
			return seen
		}
		o.Cursor = p.Next
	}
}

func quietHost(ctx context.Context, full bool) (agent.Collection, error) {
	host := &agentpb.AssetRecord{Id: "host", Kind: "host", Name: "reliability"}
	return agent.Collection{Assets: []agent.CollectedAsset{{Record: host, HasPackages: full}}}, nil
}

func startAgent(t *testing.T, server, serverName, token, pin string) (*agent.Agent, context.CancelFunc) {
	t.Helper()
	a, err := agent.New(agent.Options{Server: server, ServerName: serverName, Token: token, CAPin: pin,
		StateDir: t.TempDir(), Version: "test", Hostname: "reliability", Collect: quietHost,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; a.Close() })
	eventually(t, "enrollment", func() bool { return a.ID() != "" })
	return a, cancel
}

// sendEvents spools n single-event messages numbered from 0, pacing them
// so that they spread over the server's restarts.
func sendEvents(t *testing.T, a *agent.Agent, n int, every time.Duration) {
	for i := range n {
		err := a.SendEvents([]*agentpb.Event{{Kind: "test.event", Data: []byte(`{"i":` + strconv.Itoa(i) + `}`)}})
		if err != nil {
			t.Errorf("event %d: %v", i, err)
			return
		}
		time.Sleep(every)
	}
}

// checkAll asserts every event 0..n-1 was stored exactly once.
func checkAll(t *testing.T, seen map[int]int, n int) {
	t.Helper()
	missing, dup := 0, 0
	for i := range n {
		switch {
		case seen[i] == 0:
			missing++
		case seen[i] > 1:
			dup++
		}
	}
	if missing > 0 || dup > 0 || len(seen) != n {
		t.Errorf("of %d events: %d missing, %d stored more than once, %d distinct stored", n, missing, dup, len(seen))
	}
}

// TestKill9DuringIngest kills the server process with SIGKILL again and
// again while an agent streams events. After every kill, every message
// the agent saw acknowledged is in the store; at the end every message is
// stored exactly once.
func TestKill9DuringIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: builds and restarts a server process (-short)")
	}
	p := &serverProc{t: t, bin: vigilBinary(t), data: t.TempDir(),
		apiAddr: freePort(t, "127.0.0.1"), agentAddr: freePort(t, "127.0.0.1")}
	p.start()
	token, pin := p.enroll()
	a, _ := startAgent(t, p.agentAddr, "localhost", token, pin)

	const n = 1500
	sent := make(chan struct{})
	go func() { sendEvents(t, a, n, 2*time.Millisecond); close(sent) }()
	for kill := range 5 {
		time.Sleep(time.Duration(300+150*kill) * time.Millisecond)
		p.kill()
		acked := a.Stats().GetAcked()
		seen := storedEvents(t, p.data, a.ID())
		// Message 1 is the first inventory; events are numbered after it.
		// Every acknowledged message was committed: count the stored
		// events against the acknowledged sequence numbers.
		stored := 0
		for range seen {
			stored++
		}
		if uint64(stored)+1 < acked { // +1: the inventory message
			t.Fatalf("kill %d: %d events stored but %d messages acknowledged", kill, stored, acked)
		}
		t.Logf("kill %d: %d messages acknowledged, %d events stored", kill, acked, stored)
		p.start()
	}
	<-sent
	eventually(t, "the agent to drain its spool", func() bool { return a.Stats().GetAcked() >= n+1 })
	p.stop()
	checkAll(t, storedEvents(t, p.data, a.ID()), n)
}

// TestNetworkCut runs the server in its own network namespace, takes the
// link down while the agent keeps producing, and sees every message
// arrive once the link is back.
func TestNetworkCut(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: builds a server and a network namespace (-short)")
	}
	fixture.NeedRoot(t)
	fixture.NeedTool(t, "ip")
	ns := fmt.Sprintf("vigil-cut-%d", os.Getpid())
	hostIf, nsIf := fmt.Sprintf("vch%d", os.Getpid()%100000), fmt.Sprintf("vcn%d", os.Getpid()%100000)
	// An RFC 2544 benchmarking /30 that exists only between this test's veth pair.
	hostIP, nsIP := "198.18.213.1", "198.18.213.2"
	ipCmd := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	ipCmd("netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	ipCmd("link", "add", hostIf, "type", "veth", "peer", "name", nsIf)
	t.Cleanup(func() { exec.Command("ip", "link", "del", hostIf).Run() })
	ipCmd("link", "set", nsIf, "netns", ns)
	ipCmd("addr", "add", hostIP+"/30", "dev", hostIf)
	ipCmd("link", "set", hostIf, "up")
	ipCmd("-n", ns, "addr", "add", nsIP+"/30", "dev", nsIf)
	ipCmd("-n", ns, "link", "set", nsIf, "up")
	ipCmd("-n", ns, "link", "set", "lo", "up")

	p := &serverProc{t: t, bin: vigilBinary(t), data: t.TempDir(),
		apiAddr: net.JoinHostPort(nsIP, "18080"), agentAddr: net.JoinHostPort(nsIP, "18443"),
		wrap: []string{"ip", "netns", "exec", ns}, extra: []string{"--hostnames", nsIP}}
	p.start()
	token, pin := p.enroll()
	a, _ := startAgent(t, p.agentAddr, nsIP, token, pin)

	const n = 600
	sent := make(chan struct{})
	go func() { sendEvents(t, a, n, 5*time.Millisecond); close(sent) }()
	time.Sleep(500 * time.Millisecond)
	ipCmd("link", "set", hostIf, "down")
	cutAt := a.Stats().GetAcked()
	time.Sleep(3 * time.Second)
	during := a.Stats().GetAcked()
	ipCmd("link", "set", hostIf, "up")
	t.Logf("acknowledged: %d at the cut, %d after 3 s without a link", cutAt, during)
	if during > cutAt+5 {
		t.Errorf("acknowledgements went on without a link (%d → %d)", cutAt, during)
	}
	<-sent
	eventually(t, "every message after the link came back", func() bool { return a.Stats().GetAcked() >= n+1 })
	p.stop()
	checkAll(t, storedEvents(t, p.data, a.ID()), n)
}
