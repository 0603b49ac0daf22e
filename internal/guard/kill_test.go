package guard

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/respond"
	"github.com/vigil-sec/vigil/internal/sensor"
)

// TestKillForReal: with the response on, a miner-named program is killed
// by the built-in rule whose action is kill (VGL-RT-021); a kill rule
// added to RulesDir while the guard runs is loaded and kills too.
//
// The guard acts only on this test's own descendants (actOn), so that
// nothing else on the host — other tests doing their own attacks — is
// killed.
func TestKillForReal(t *testing.T) {
	me := int32(os.Getpid())
	mine := func(ev *sensor.Event) bool {
		return ev.Process.PPID == me || slices.ContainsFunc(ev.Parents, func(p sensor.Process) bool { return p.PID == me })
	}
	rules := t.TempDir()
	g := startGuard(t, Options{Response: ResponseOn, RulesDir: rules, QuarantineDir: t.TempDir()}, mine)
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skipf("no sleep: %v", err)
	}
	bin := t.TempDir()

	// killed runs a copy of sleep under name and checks that rule kills it.
	killed := func(t *testing.T, name, rule string) {
		t.Helper()
		prog := filepath.Join(bin, name)
		copyFile(t, sleep, prog, 0o755)
		cmd := command(prog, "30")
		start(t, cmd)
		a := g.sink.wait(t, rule, and(byRule(rule), descends(cmd.Process.Pid)))
		r := a.Response
		if r == nil || r.Action != respond.ActionKill || r.DryRun || r.Err != "" || !strings.HasPrefix(r.Detail, "sent SIGKILL") {
			t.Fatalf("%s: response %+v, want a kill", rule, r)
		}
		ws := waitExit(t, cmd)
		if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("%s: %s ended with %v, want SIGKILL", rule, name, ws)
		}
		t.Logf("%s killed %s (pid %d): %s", rule, name, cmd.Process.Pid, r.Detail)
	}

	t.Run("builtin-miner", func(t *testing.T) { killed(t, "xmrig", "VGL-RT-021") })

	t.Run("hot-reloaded-rule", func(t *testing.T) {
		// Wait for the watcher's first load before editing the directory.
		waitFor(t, "initial rules load", func() bool { return g.Stats().Reloads >= 1 })
		n := g.Stats().Reloads
		rule := `rules:
  - id: TEST-KILL-1
    title: test probe
    severity: high
    kinds: [exec]
    condition: process.name == "vigil-probe"
    action: kill
`
		if err := os.WriteFile(filepath.Join(rules, "kill.yaml"), []byte(rule), 0o644); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "reload", func() bool { return g.Stats().Reloads > n })
		killed(t, "vigil-probe", "TEST-KILL-1")
	})
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
