package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/cloudmeta"
	"github.com/vigil-sec/vigil/internal/containers"
	"github.com/vigil-sec/vigil/internal/fixture"
)

// TestHostCollectorRealHost collects the machine the test runs on (light
// collection: no package walk) and finds the test process itself.
func TestHostCollectorRealHost(t *testing.T) {
	c := &agent.HostCollector{Root: "/", Cloud: cloudmeta.Options{Offline: true},
		Containers: containers.Options{ContainerdSocket: containers.NoSocket},
		Labels:     map[string]string{"environment": "staging"}}
	col, err := c.Collect(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	host := col.Assets[0]
	if host.Record.GetKind() != "host" || host.Record.GetId() != "host" || host.HasPackages {
		t.Fatalf("first asset %+v", host.Record)
	}
	// The operator's labels go on the host and on each container and
	// image (unless it has the key already).
	for _, a := range col.Assets {
		if a.Record.GetLabels()["environment"] == "" {
			t.Errorf("%s %s: no environment label (%v)", a.Record.GetKind(), a.Record.GetId(), a.Record.GetLabels())
		}
	}
	kinds := map[string]int{}
	self := false
	for _, it := range host.Record.GetItems() {
		kinds[it.GetKind()]++
		if it.GetKind() == "process" && strings.HasPrefix(it.GetKey(), strconv.Itoa(os.Getpid())+"@") {
			self = true
		}
	}
	if !self {
		t.Error("the test process is not among the processes")
	}
	for _, k := range []string{"process", "user", "group"} {
		if kinds[k] == 0 {
			t.Errorf("no %s items (kinds: %v)", k, kinds)
		}
	}
	var attrs struct {
		OS     struct{ ID string }
		Kernel struct{ Release string }
	}
	if err := json.Unmarshal(host.Record.GetAttrs(), &attrs); err != nil || attrs.Kernel.Release == "" {
		t.Errorf("attrs %s: %v", host.Record.GetAttrs(), err)
	}
	// Collecting again without change yields the same host record, so the
	// tracker sends nothing but what changed.
	again, err := c.Collect(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	if string(again.Assets[0].Record.GetAttrs()) != string(host.Record.GetAttrs()) {
		t.Errorf("host attrs changed between two collections:\n%s\n%s", host.Record.GetAttrs(), again.Assets[0].Record.GetAttrs())
	}
}

// TestHostCollectorPackages runs a full collection of a real Debian root
// filesystem (debootstrap): its packages come with the OS release the
// server's assessment needs.
func TestHostCollectorPackages(t *testing.T) {
	root := fixture.DebianRoot(t, "bullseye")
	c := &agent.HostCollector{Root: root, Cloud: cloudmeta.Options{Offline: true},
		Containers: containers.Options{DockerSocket: containers.NoSocket, ContainerdSocket: containers.NoSocket}}
	col, err := c.Collect(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	host := col.Assets[0]
	if !host.HasPackages || len(host.Record.GetPackages()) < 50 {
		t.Fatalf("%d packages from a debootstrap root", len(host.Record.GetPackages()))
	}
	found := false
	for _, p := range host.Record.GetPackages() {
		found = found || (p.GetName() == "bash" && p.GetEcosystem() != "" && len(p.GetData()) > 0)
	}
	if !found {
		t.Error("bash not found with an ecosystem and data")
	}
	var attrs struct {
		OS struct{ ID, VersionID string }
	}
	if err := json.Unmarshal(host.Record.GetAttrs(), &attrs); err != nil || attrs.OS.ID != "debian" || attrs.OS.VersionID != "11" {
		t.Errorf("OS in attrs %+v (%v), want debian 11", attrs.OS, err)
	}
	if host.Record.GetOs() != "debian 11" {
		t.Errorf("asset OS %q", host.Record.GetOs())
	}
}

// TestLimitCPU runs a busy child that caps itself at 10 % of a core and
// checks the kernel held it there.
func TestLimitCPU(t *testing.T) {
	if os.Getenv("VIGIL_CPU_CHILD") != "" {
		if err := agent.LimitCPU(0.1); err != nil {
			fmt.Println("LIMIT-ERROR", err)
			return
		}
		start, wall := cpuTime(), time.Now()
		for time.Since(wall) < 2*time.Second {
		}
		fmt.Printf("SHARE %.3f\n", (cpuTime()-start)/time.Since(wall).Seconds())
		return
	}
	fixture.NeedRoot(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestLimitCPU$")
	cmd.Env = append(os.Environ(), "VIGIL_CPU_CHILD=1")
	out, err := cmd.CombinedOutput()
	if cmd.Process != nil { // the child's now empty cgroup
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/vigil-agent-" + strconv.Itoa(cmd.Process.Pid))
		more, _ := filepath.Glob("/sys/fs/cgroup/*/*/vigil-agent-" + strconv.Itoa(cmd.Process.Pid))
		for _, d := range append(dirs, more...) {
			os.Remove(d)
		}
	}
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	s := string(out)
	if i := strings.Index(s, "LIMIT-ERROR"); i >= 0 {
		fixture.Unavailable(t, "no CPU controller to cap with: "+strings.TrimSpace(s[i:]))
	}
	i := strings.Index(s, "SHARE ")
	if i < 0 {
		t.Fatalf("child said %s", s)
	}
	share, err := strconv.ParseFloat(strings.Fields(s[i+6:])[0], 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("a busy loop capped at 10%% used %.1f%% of a core", 100*share)
	if share > 0.2 {
		t.Errorf("capped child used %.0f%% of a core, want about 10%%", 100*share)
	}
}

// cpuTime is this process's user+system CPU seconds.
func cpuTime() float64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}
