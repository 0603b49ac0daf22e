package spool

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childEnv names the spool directory when the test binary runs as the
// appending child of TestKill9.
const childEnv = "VIGIL_SPOOL_KILL_CHILD"

var killOptions = Options{SegmentBytes: 2048, Sync: true}

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		killChild(dir)
		os.Exit(2) // killChild only returns on error
	}
	os.Exit(m.Run())
}

// killChild appends records to the spool in dir until it is killed. On fd 3
// it reports "a N" after record N is appended and "k N" after
// acknowledging up to N, and "e ..." on an error.
func killChild(dir string) {
	report := bufio.NewWriter(os.NewFile(3, "report"))
	fail := func(err error) {
		fmt.Fprintf(report, "e %v\n", err)
		report.Flush()
	}
	s, err := Open(dir, killOptions)
	if err != nil {
		fail(err)
		return
	}
	for seq := s.Stats().Last + 1; ; seq++ {
		if err := s.Append(seq, payload(seq)); err != nil {
			fail(err)
			return
		}
		fmt.Fprintf(report, "a %d\n", seq)
		if seq%25 == 0 {
			if err := s.Ack(seq - 10); err != nil {
				fail(err)
				return
			}
			fmt.Fprintf(report, "k %d\n", seq-10)
		}
		if err := report.Flush(); err != nil {
			return // the parent went away
		}
	}
}

// TestKill9 runs a child process that appends with Sync and kills it with
// SIGKILL at a random moment, several times over the same directory: every
// record the child reported appended is there, intact, in order, after
// every acknowledgement it reported.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: spawns processes and fsyncs in -short mode")
	}
	dir := t.TempDir()
	for round := range 4 {
		appended, acked := runAndKill(t, dir, 40+rand.IntN(200))
		if appended == 0 {
			t.Fatalf("round %d: the child appended nothing", round)
		}
		s, err := Open(dir, killOptions)
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		st := s.Stats()
		if st.Corrupt != 0 {
			t.Errorf("round %d: %d corrupt bytes after a kill", round, st.Corrupt)
		}
		if st.Acked < acked || st.Acked > appended+1 {
			t.Errorf("round %d: ack mark %d, the child reported %d", round, st.Acked, acked)
		}
		got := readAll(t, s, 0) // checks every payload
		// Everything reported and not acknowledged, and at most the one
		// record the child wrote but could not report.
		if len(got) == 0 && st.Acked < appended {
			t.Fatalf("round %d: nothing readable; appended %d, acked %d", round, appended, st.Acked)
		}
		if len(got) > 0 {
			want := seqRange(st.Acked+1, got[len(got)-1])
			if !equalSeqs(got, want) {
				t.Fatalf("round %d: read %s, want %s", round, short(got), short(want))
			}
			if last := got[len(got)-1]; last < appended || last > appended+1 {
				t.Fatalf("round %d: last record %d, the child reported %d", round, last, appended)
			}
		}
		t.Logf("round %d: killed after %d (acked %d); recovered %d records, last %d, acked %d, truncated %d bytes",
			round, appended, acked, st.Records, st.Last, st.Acked, st.Truncated)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// runAndKill starts the child on dir, kills it once it has reported after
// appends, and returns the last append and acknowledgement it reported.
func runAndKill(t *testing.T, dir string, after int) (appended, acked uint64) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		w.Close()
		t.Fatal(err)
	}
	w.Close()
	killed := false
	timeout := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
	defer timeout.Stop()
	lines := bufio.NewScanner(r)
	n := 0
	for lines.Scan() {
		kind, num, _ := strings.Cut(lines.Text(), " ")
		v, err := strconv.ParseUint(num, 10, 64)
		switch {
		case kind == "e":
			t.Fatalf("child: %s", num)
		case err != nil:
			t.Fatalf("child reported %q", lines.Text())
		case kind == "a":
			appended = v
			n++
		case kind == "k":
			acked = v
		}
		if n == after && !killed {
			// Lines already in the pipe are still read below.
			cmd.Process.Signal(syscall.SIGKILL)
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child ended after %d appends, before the kill (%v)", n, err)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, not killed", err)
	}
	return appended, acked
}
