package respond

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/sensor"
)

// processOf describes pid as the sensor would: its start time in
// nanoseconds, with a sub-tick offset the comparison must ignore.
func processOf(t *testing.T, pid int) sensor.Process {
	t.Helper()
	st, err := readStat(int32(pid))
	if err != nil {
		t.Fatal(err)
	}
	return sensor.Process{PID: int32(pid), PPID: st.PPID, Name: st.Comm, StartTime: st.StartTicks*nsPerTick + 3_456_789}
}

// startSleep starts a child that would live a minute.
func startSleep(t *testing.T) *exec.Cmd {
	t.Helper()
	if _, err := exec.LookPath("sleep"); err != nil {
		t.Skipf("skipping: sleep not installed: %v", err)
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

// alive says pid runs (and is not a zombie waiting to be reaped).
func alive(pid int) bool {
	st, err := readStat(int32(pid))
	return err == nil && st.State != 'Z' && st.State != 'X'
}

func TestKill(t *testing.T) {
	cmd := startSleep(t)
	p := processOf(t, cmd.Process.Pid)
	rec, err := New(Options{}).Kill(p)
	if err != nil {
		t.Fatalf("Kill: %v (%+v)", err, rec)
	}
	if rec.Action != ActionKill || rec.DryRun || rec.Err != "" || !strings.Contains(rec.Detail, "SIGKILL") {
		t.Errorf("record = %+v", rec)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("sleep ended with %v, want killed", err)
		}
		if ws := ee.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Errorf("sleep ended with %v, want SIGKILL", ws)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("sleep still running 5 s after Kill")
	}
	t.Logf("record: %+v", rec)
}

func TestKillDryRun(t *testing.T) {
	cmd := startSleep(t)
	rec, err := New(Options{DryRun: true}).Kill(processOf(t, cmd.Process.Pid))
	if err != nil {
		t.Fatalf("Kill (dry run): %v", err)
	}
	if !rec.DryRun || !strings.HasPrefix(rec.Detail, "would send SIGKILL") {
		t.Errorf("record = %+v", rec)
	}
	time.Sleep(100 * time.Millisecond)
	if !alive(cmd.Process.Pid) {
		t.Error("dry-run Kill killed the process")
	}
}

func TestKillRefuses(t *testing.T) {
	child := startSleep(t)
	wrong := processOf(t, child.Process.Pid)
	wrong.StartTime += 2 * 1_000_000_000 // the PID reused by a process started 2 s later
	noStart := processOf(t, child.Process.Pid)
	noStart.StartTime = 0

	exited := exec.Command("true")
	if err := exited.Run(); err != nil {
		t.Skipf("skipping: cannot run true: %v", err)
	}
	gone := sensor.Process{PID: int32(exited.Process.Pid), StartTime: wrong.StartTime}

	tests := []struct {
		name string
		p    sensor.Process
		want error
	}{
		{"pid 1", processOf(t, 1), ErrProtected},
		{"pid 0", sensor.Process{PID: 0, StartTime: 1}, ErrProtected},
		{"negative pid", sensor.Process{PID: -1, StartTime: 1}, ErrProtected},
		{"self", processOf(t, os.Getpid()), ErrProtected},
		{"parent", processOf(t, os.Getppid()), ErrProtected},
		{"start time differs", wrong, ErrIdentity},
		{"no start time", noStart, ErrIdentity},
		{"exited", gone, ErrGone},
	}
	if st, err := readStat(2); err == nil && st.Flags&pfKthread != 0 {
		tests = append(tests, struct {
			name string
			p    sensor.Process
			want error
		}{"kernel thread", processOf(t, 2), ErrProtected})
	}
	for _, dry := range []bool{false, true} {
		r := New(Options{DryRun: dry})
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/dry-run=%v", tt.name, dry), func(t *testing.T) {
				rec, err := r.Kill(tt.p)
				if !errors.Is(err, tt.want) {
					t.Fatalf("Kill(%+v) error = %v, want %v", tt.p, err, tt.want)
				}
				if rec.Err == "" || rec.DryRun != dry {
					t.Errorf("record = %+v, want the error recorded", rec)
				}
			})
		}
	}
	if !alive(child.Process.Pid) {
		t.Error("a refused Kill killed the child")
	}
}
