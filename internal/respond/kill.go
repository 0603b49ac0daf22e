package respond

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/sensor"
)

// maxAncestry bounds the walk up the responder's own parent chain.
const maxAncestry = 4096

// killWaitMS is how long Kill waits for the process to be gone before
// reporting that the signal was sent but the exit not yet seen.
const killWaitMS = 1000

// Kill sends SIGKILL to p, after checking that:
//   - p.PID is not PID 1 (or below), the responder, or one of its ancestors;
//   - p.StartTime is set, and the process now at p.PID started at that time
//     (compared in /proc clock ticks, see ticksOf);
//   - the process is not a kernel thread.
//
// The process is opened as a pidfd before its start time is read and
// signalled through that pidfd: if the pidfd's process had exited and its
// PID been reused in between, the start time would not match; if it exits
// after the check, the signal fails with ErrGone instead of reaching a
// newcomer. p.PID is a PID in the responder's PID namespace.
//
// In dry-run the checks are made and the record says SIGKILL would be sent.
func (r *Responder) Kill(p sensor.Process) (Record, error) {
	rec := r.record(ActionKill, fmt.Sprintf("pid %d (%s)", p.PID, p.Name))
	if err := protected(p.PID); err != nil {
		return fail(rec, fmt.Errorf("kill: %w", err))
	}
	if p.StartTime == 0 {
		return fail(rec, fmt.Errorf("kill pid %d: %w: no start time given", p.PID, ErrIdentity))
	}
	fd, err := unix.PidfdOpen(int(p.PID), 0)
	if errors.Is(err, unix.ESRCH) {
		return fail(rec, fmt.Errorf("kill pid %d: %w", p.PID, ErrGone))
	}
	if err != nil {
		return fail(rec, fmt.Errorf("kill pid %d: pidfd_open: %w", p.PID, err))
	}
	defer unix.Close(fd)
	if err := verify(p.PID, p.StartTime); err != nil {
		return fail(rec, fmt.Errorf("kill: %w", err))
	}
	if r.dryRun {
		rec.Detail = "would send SIGKILL through a pidfd (start time verified)"
		return rec, nil
	}
	if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return fail(rec, fmt.Errorf("kill pid %d: %w", p.PID, ErrGone))
		}
		return fail(rec, fmt.Errorf("kill pid %d: pidfd_send_signal: %w", p.PID, err))
	}
	rec.Detail = "sent SIGKILL through a pidfd (start time verified)"
	// A pidfd polls readable once its process has exited.
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	if n, err := unix.Poll(fds, killWaitMS); err == nil && n == 1 {
		rec.Detail += "; process exited"
	} else {
		rec.Detail += "; exit not yet observed"
	}
	return rec, nil
}

// verify checks that the process at pid started at startNS (sensor
// nanoseconds) and is not a kernel thread.
func verify(pid int32, startNS uint64) error {
	st, err := readStat(pid)
	if err != nil {
		return err
	}
	if st.Flags&pfKthread != 0 {
		return fmt.Errorf("pid %d: %w: kernel thread %s", pid, ErrProtected, st.Comm)
	}
	if want := ticksOf(startNS); st.StartTicks != want {
		return fmt.Errorf("pid %d (%s): %w: started at tick %d, event says tick %d",
			pid, st.Comm, ErrIdentity, st.StartTicks, want)
	}
	return nil
}

// protected refuses PID 1 and below, the responder and its ancestors.
func protected(pid int32) error {
	switch {
	case pid <= 1:
		return fmt.Errorf("pid %d: %w: init or not a process", pid, ErrProtected)
	case int(pid) == os.Getpid():
		return fmt.Errorf("pid %d: %w: the responder itself", pid, ErrProtected)
	}
	cur := int32(os.Getppid())
	for i := 0; i < maxAncestry && cur > 1; i++ {
		if cur == pid {
			return fmt.Errorf("pid %d: %w: an ancestor of the responder", pid, ErrProtected)
		}
		st, err := readStat(cur)
		if err != nil {
			break
		}
		cur = st.PPID
	}
	return nil
}
