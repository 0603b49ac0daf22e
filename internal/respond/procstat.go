package respond

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

// Process start times. The sensor reports sensor.Process.StartTime in
// boot-relative nanoseconds (the kernel's task start_boottime). Field 22 of
// /proc/PID/stat is the same instant in clock ticks: the kernel divides the
// nanoseconds by NSEC_PER_SEC/USER_HZ, truncating. USER_HZ (what
// sysconf(_SC_CLK_TCK) returns) is 100 on every architecture Go supports,
// so one tick is 10 ms and a sensor start time converts to ticks as
// ns / 10_000_000. The two are compared at that precision: a PID cannot be
// reused within 10 ms of its previous owner starting and exiting in any
// practical sense, and the pidfd closes the remaining window (see Kill).
const (
	userHZ    = 100
	nsPerTick = 1_000_000_000 / userHZ
)

// ticksOf converts a sensor start time to /proc clock ticks.
func ticksOf(startNS uint64) uint64 { return startNS / nsPerTick }

// pfKthread is PF_KTHREAD in the flags field (9) of /proc/PID/stat.
const pfKthread = 0x00200000

// maxStat bounds a read of /proc/PID/stat: 52 numeric fields and a comm of
// at most 64 bytes fit well under it.
const maxStat = 4096

// procStat is what the responder needs from /proc/PID/stat.
type procStat struct {
	Comm       string
	State      byte
	PPID       int32
	Flags      uint32
	StartTicks uint64 // field 22
}

var errStat = errors.New("malformed stat")

// parseStat decodes one /proc/PID/stat line. The comm (field 2) is in
// parentheses and may itself contain spaces and parentheses, so fields are
// counted from the last ')'.
func parseStat(b []byte) (procStat, error) {
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return procStat{}, fmt.Errorf("%w: no comm", errStat)
	}
	f := bytes.Fields(b[end+1:])
	// f[0] is field 3 (state); field n is f[n-3].
	if len(f) < 22-3+1 {
		return procStat{}, fmt.Errorf("%w: %d fields after comm", errStat, len(f))
	}
	if len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("%w: state %q", errStat, f[0])
	}
	ppid, err := strconv.ParseInt(string(f[4-3]), 10, 32)
	if err != nil {
		return procStat{}, fmt.Errorf("%w: ppid: %w", errStat, err)
	}
	flags, err := strconv.ParseUint(string(f[9-3]), 10, 32)
	if err != nil {
		return procStat{}, fmt.Errorf("%w: flags: %w", errStat, err)
	}
	start, err := strconv.ParseUint(string(f[22-3]), 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("%w: starttime: %w", errStat, err)
	}
	return procStat{
		Comm:       string(b[open+1 : end]),
		State:      f[0][0],
		PPID:       int32(ppid),
		Flags:      uint32(flags),
		StartTicks: start,
	}, nil
}

// readStat reads and parses /proc/PID/stat. A process that does not exist
// gives an error wrapping ErrGone.
func readStat(pid int32) (procStat, error) {
	name := "/proc/" + strconv.FormatInt(int64(pid), 10) + "/stat"
	f, err := os.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return procStat{}, fmt.Errorf("pid %d: %w", pid, ErrGone)
	}
	if err != nil {
		return procStat{}, fmt.Errorf("read stat: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStat))
	if err != nil {
		// A process reaped between open and read reads as ESRCH.
		return procStat{}, fmt.Errorf("read %s: %w (%w)", name, ErrGone, err)
	}
	st, err := parseStat(b)
	if err != nil {
		return procStat{}, fmt.Errorf("%s: %w", name, err)
	}
	return st, nil
}
