package guard

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/respond"
	"github.com/vigil-sec/vigil/internal/sensor"
)

// TestIsolateContainerForReal: with the response on, a rule whose action is
// isolate cuts a real container's network (nftables in its namespace):
// the host reaches the container's web server before, not after, while
// the container's loopback keeps working. The guard acts only on that
// container's events (actOn). The only traffic is host → the container's
// own network namespace, which this test created.
func TestIsolateContainerForReal(t *testing.T) {
	needDocker(t)
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skipf("no nft: %v", err)
	}
	rules := t.TempDir()
	if err := os.WriteFile(filepath.Join(rules, "isolate.yaml"), []byte(`rules:
  - {id: T-ISO, title: isolate on port 4242, severity: high, kinds: [connect], condition: 'in_container && network.dstPort == 4242', action: isolate}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	var target atomic.Pointer[string]
	ours := func(ev *sensor.Event) bool {
		id := target.Load()
		return id != nil && ev.Container != nil && ev.Container.ID == *id
	}
	g := startGuard(t, Options{Response: ResponseOn, RulesDir: rules, QuarantineDir: t.TempDir()}, ours)
	waitFor(t, "rules load", func() bool { return g.Stats().Reloads >= 1 })

	image := attackImage(t)
	id := container(t, image, fmt.Sprintf("vigil-isolate-%d", os.Getpid()))
	target.Store(&id)
	out, err := exec.Command("docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", id).Output()
	ip := strings.TrimSpace(string(out))
	if err != nil || net.ParseIP(ip) == nil {
		t.Skipf("the container has no address of its own (%q, %v): docker without a bridge network", ip, err)
	}
	run(t, command("docker", "exec", "-d", id, "/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/"))
	addr := net.JoinHostPort(ip, "8080")
	dial := func(timeout time.Duration) error {
		c, err := net.DialTimeout("tcp", addr, timeout)
		if err == nil {
			c.Close()
		}
		return err
	}
	waitFor(t, "the container's web server", func() bool { return dial(time.Second) == nil })

	// The trigger: a connection to port 4242 on the container's own
	// loopback (refused; the attempt is the event). busybox nc, not wget:
	// this static wget crashes in a root without /etc/services.
	exec.Command("docker", "exec", id, "/bin/busybox", "nc", "-w", "1", "127.0.0.1", "4242").Run()
	a := g.sink.wait(t, "T-ISO", and(byRule("T-ISO"), inContainer(id)))
	if r := a.Response; r == nil || r.Action != respond.ActionIsolate || r.DryRun || r.Err != "" {
		t.Fatalf("response %+v, want the container isolated", a.Response)
	}
	t.Logf("isolated: %s", a.Response.Detail)
	if err := dial(500 * time.Millisecond); err == nil {
		t.Fatal("the host still reaches the container after isolation")
	}
	if out, err := exec.Command("docker", "exec", id, "/bin/busybox", "nc", "-w", "1", "127.0.0.1", "8080").CombinedOutput(); err != nil {
		t.Errorf("the container's loopback after isolation: %v: %s", err, out)
	}
}
