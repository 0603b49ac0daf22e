package hostinv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is one process of the proc filesystem.
type Process struct {
	PID  int    `json:"pid"`
	PPID int    `json:"ppid"`
	Name string `json:"name"`
	// Exe is the target of /proc/PID/exe; empty for kernel threads and
	// when it cannot be read. A deleted executable ends in " (deleted)" and
	// sets ExeDeleted.
	Exe        string `json:"exe,omitempty"`
	ExeDeleted bool   `json:"exeDeleted,omitempty"`
	// Cmdline is the argument vector, cut at Options.MaxCmdline bytes
	// (CmdlineTruncated is then set).
	Cmdline          []string `json:"cmdline,omitempty"`
	CmdlineTruncated bool     `json:"cmdlineTruncated,omitempty"`
	UID              uint32   `json:"uid"`
	EUID             uint32   `json:"euid"`
	GID              uint32   `json:"gid"`
	// User is the name of UID in the collected users, if any.
	User string `json:"user,omitempty"`
	// StartTicks is the start time in clock ticks since boot, as the
	// kernel reports it; with PID it identifies the process.
	StartTicks uint64 `json:"startTicks"`
	// StartTime is StartTicks on the wall clock (zero without a boot
	// time).
	StartTime time.Time `json:"startTime,omitzero"`
	// RSS is the resident set size in bytes.
	RSS int64 `json:"rssBytes"`
	// State is the one-letter scheduler state (R, S, D, Z, T, I, …).
	State string `json:"state"`
}

// clockTicks is USER_HZ, the unit of process start times in /proc. It is
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// maxProcStat bounds /proc/PID/stat and /proc/PID/status.
const maxProcStat = 64 << 10

// collectProcesses reads every numeric directory of the proc filesystem, up
// to MaxProcesses, lowest PIDs first.
func (c *collector) collectProcesses(ctx context.Context) {
	pids, err := listPIDs(c.opts.Proc)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			c.problem("process", c.opts.Proc, err)
		}
		return
	}
	if len(pids) > c.opts.MaxProcesses {
		c.problem("process", c.opts.Proc, fmt.Errorf("%w: %d processes, kept %d", ErrTooManyEntries, len(pids), c.opts.MaxProcesses))
		pids = pids[:c.opts.MaxProcesses]
	}
	names := map[uint32]string{}
	for _, u := range c.snap.Users {
		if _, ok := names[u.UID]; !ok {
			names[u.UID] = u.Name
		}
	}
	for i, pid := range pids {
		if i%64 == 0 && ctx.Err() != nil {
			return
		}
		p, err := c.readProcess(pid)
		if err != nil {
			if !exited(err) {
				c.problem("process", filepath.Join(c.opts.Proc, strconv.Itoa(pid)), err)
			}
			continue
		}
		p.User = names[p.UID]
		c.snap.Processes = append(c.snap.Processes, p)
	}
}

// exited reports whether err says the process went away while read.
func exited(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}

// listPIDs returns the process IDs under proc, ascending.
func listPIDs(proc string) ([]int, error) {
	d, err := os.Open(proc)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, n := range names {
		if pid, err := strconv.Atoi(n); err == nil && pid > 0 && strconv.Itoa(pid) == n {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	return pids, nil
}

// readProcess reads one process. Only a failure to read its stat file is
// an error: the other files may be unreadable for kernel threads or
// without privileges.
func (c *collector) readProcess(pid int) (Process, error) {
	dir := filepath.Join(c.opts.Proc, strconv.Itoa(pid))
	data, err := readProcFile(filepath.Join(dir, "stat"), maxProcStat)
	if err != nil {
		return Process{}, err
	}
	st, err := parseProcStat(data)
	if err != nil {
		return Process{}, fmt.Errorf("stat: %w", err)
	}
	p := Process{PID: pid, PPID: st.ppid, Name: st.comm, State: st.state, StartTicks: st.startTicks}
	if !c.snap.BootTime.IsZero() {
		p.StartTime = c.snap.BootTime.Add(ticksDuration(st.startTicks))
	}
	if data, err := readProcFile(filepath.Join(dir, "status"), maxProcStat); err == nil {
		ps := parseProcStatus(data)
		p.UID, p.EUID, p.GID, p.RSS = ps.uid, ps.euid, ps.gid, ps.rss
	}
	if data, trunc, err := readPrefix(filepath.Join(dir, "cmdline"), c.opts.MaxCmdline); err == nil {
		p.Cmdline, p.CmdlineTruncated = splitCmdline(data), trunc
	}
	if exe, err := os.Readlink(filepath.Join(dir, "exe")); err == nil {
		p.Exe = exe
		p.ExeDeleted = strings.HasSuffix(exe, " (deleted)")
	}
	return p, nil
}

// ticksDuration converts clock ticks to a duration, saturating on overflow.
func ticksDuration(ticks uint64) time.Duration {
	const maxTicks = uint64(1<<63-1) / uint64(time.Second/clockTicks)
	if ticks > maxTicks {
		ticks = maxTicks
	}
	return time.Duration(ticks) * (time.Second / clockTicks)
}

// readPrefix reads at most n bytes of a file; truncated says whether more
// followed.
func readPrefix(name string, n int) (data []byte, truncated bool, err error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	data, err = io.ReadAll(io.LimitReader(f, int64(n)+1))
	if err != nil {
		return nil, false, err
	}
	if len(data) > n {
		return data[:n], true, nil
	}
	return data, false, nil
}

// splitCmdline splits a NUL-separated argument vector.
func splitCmdline(data []byte) []string {
	data = bytes.TrimRight(data, "\x00")
	if len(data) == 0 {
		return nil
	}
	return strings.Split(string(data), "\x00")
}

// procStat holds the fields used from /proc/PID/stat.
type procStat struct {
	comm       string
	state      string
	ppid       int
	startTicks uint64
}

// parseProcStat parses /proc/PID/stat. The command name sits in
// parentheses and may itself contain spaces and parentheses, so the fields
// after it are found from the last ')'.
func parseProcStat(data []byte) (procStat, error) {
	s := string(data)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return procStat{}, errors.New("no command name")
	}
	rest := strings.Fields(s[end+1:])
	// rest[0] is field 3 (state); starttime is field 22.
	const startField = 22 - 3
	if len(rest) <= startField {
		return procStat{}, fmt.Errorf("%d fields after the command name, want at least %d", len(rest), startField+1)
	}
	ppid, err := strconv.Atoi(rest[1])
	if err != nil {
		return procStat{}, fmt.Errorf("bad ppid %q", truncate(rest[1], 32))
	}
	start, err := strconv.ParseUint(rest[startField], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("bad start time %q", truncate(rest[startField], 32))
	}
	return procStat{comm: s[open+1 : end], state: rest[0], ppid: ppid, startTicks: start}, nil
}

// procStatus holds the fields used from /proc/PID/status.
type procStatus struct {
	uid, euid, gid uint32
	rss            int64
}

// parseProcStatus parses the Uid, Gid and VmRSS lines of
// /proc/PID/status; missing or malformed lines leave zeros.
func parseProcStatus(data []byte) procStatus {
	var st procStatus
	for line := range strings.Lines(string(data)) {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(val)
		switch key {
		case "Uid":
			if len(f) >= 2 {
				st.uid, _ = parseID(f[0])
				st.euid, _ = parseID(f[1])
			}
		case "Gid":
			if len(f) >= 1 {
				st.gid, _ = parseID(f[0])
			}
		case "VmRSS":
			if len(f) >= 1 {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil && kb >= 0 && kb < 1<<53 {
					st.rss = kb * 1024
				}
			}
		}
	}
	return st
}
