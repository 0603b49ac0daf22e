package sensor

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// procfs reads what the kernel events do not carry (cwd, stdio kinds,
// the resolved executable) and the processes that existed before the
// sensor started. Reads are bounded; a process that is gone yields ok ==
// false, never an error worth reporting.
type procfs struct {
	root string // "/proc"
}

// Clock ticks per second of /proc/PID/stat times (USER_HZ, 100 on every
// Linux architecture Go supports).
const userHZ = 100

// tickNS is one clock tick in nanoseconds. Start times are truncated to
// it so that times from the kernel and from /proc agree.
const tickNS = 1_000_000_000 / userHZ

// readLimited reads at most limit bytes of a file.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}

func (p procfs) path(pid int32, name string) string {
	return p.root + "/" + strconv.Itoa(int(pid)) + "/" + name
}

// stat is what /proc/PID/stat tells.
type stat struct {
	comm  string
	ppid  int32
	start uint64 // boot-relative ns, tick precision
	tty   bool
}

// parseStat parses /proc/PID/stat. The comm field may hold spaces and
// parentheses: it ends at the last ')'.
func parseStat(b []byte) (stat, error) {
	var s stat
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return s, fmt.Errorf("stat: no comm")
	}
	s.comm = string(b[open+1 : end])
	f := strings.Fields(string(b[end+1:]))
	// After comm: state(0) ppid(1) pgrp(2) session(3) tty_nr(4) … starttime(19).
	if len(f) < 20 {
		return s, fmt.Errorf("stat: %d fields", len(f))
	}
	ppid, err := strconv.ParseInt(f[1], 10, 32)
	if err != nil {
		return s, fmt.Errorf("stat ppid: %w", err)
	}
	tty, err := strconv.ParseInt(f[4], 10, 64)
	if err != nil {
		return s, fmt.Errorf("stat tty: %w", err)
	}
	ticks, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return s, fmt.Errorf("stat starttime: %w", err)
	}
	s.ppid, s.tty, s.start = int32(ppid), tty != 0, ticks*tickNS
	return s, nil
}

func (p procfs) stat(pid int32) (stat, bool) {
	b, err := readLimited(p.path(pid, "stat"), 4096)
	if err != nil {
		return stat{}, false
	}
	s, err := parseStat(b)
	return s, err == nil
}

// status fills the credentials from /proc/PID/status.
func (p procfs) status(pid int32, pr *Process) bool {
	b, err := readLimited(p.path(pid, "status"), 16384)
	if err != nil {
		return false
	}
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		switch k {
		case "Uid", "Gid":
			if len(f) < 2 {
				continue
			}
			r, _ := strconv.ParseUint(f[0], 10, 32)
			e, _ := strconv.ParseUint(f[1], 10, 32)
			if k == "Uid" {
				pr.UID, pr.EUID = uint32(r), uint32(e)
			} else {
				pr.GID, pr.EGID = uint32(r), uint32(e)
			}
		case "CapEff", "CapPrm":
			if len(f) < 1 {
				continue
			}
			c, _ := strconv.ParseUint(f[0], 16, 64)
			if k == "CapEff" {
				pr.CapEffective = c
			} else {
				pr.CapPermitted = c
			}
		}
	}
	return true
}

func (p procfs) cmdline(pid int32) []string {
	b, err := readLimited(p.path(pid, "cmdline"), argvSize)
	if err != nil {
		return nil
	}
	return splitArgs(b)
}

// exe reads the executable link and says whether it was deleted or is a
// memfd.
func (p procfs) exe(pid int32) (path string, deleted, memfd bool, ok bool) {
	l, err := os.Readlink(p.path(pid, "exe"))
	if err != nil {
		return "", false, false, false
	}
	path, deleted = strings.CutSuffix(l, " (deleted)")
	if strings.HasPrefix(path, "/memfd:") {
		return path, false, true, true
	}
	return path, deleted, false, true
}

// fdExe resolves an exec'd file name of the form /proc/PID/fd/N — a
// binary run through another process's open descriptor, typically after
// it was unlinked — to the file that descriptor names, for when the new
// process has exited before its own exe link could be read.
func (p procfs) fdExe(filename string) (path string, deleted, memfd bool, ok bool) {
	rest, found := strings.CutPrefix(filename, "/proc/")
	if !found {
		return "", false, false, false
	}
	pidStr, fdStr, found := strings.Cut(rest, "/fd/")
	if !found {
		return "", false, false, false
	}
	pid, err1 := strconv.ParseInt(pidStr, 10, 32)
	fd, err2 := strconv.Atoi(fdStr)
	if err1 != nil || err2 != nil || fd < 0 {
		return "", false, false, false
	}
	l, err := os.Readlink(p.path(int32(pid), "fd/"+strconv.Itoa(fd)))
	if err != nil || !strings.HasPrefix(l, "/") {
		return "", false, false, false
	}
	path, deleted = strings.CutSuffix(l, " (deleted)")
	if strings.HasPrefix(path, "/memfd:") {
		return path, false, true, true
	}
	return path, deleted, false, true
}

func (p procfs) cwd(pid int32) string {
	l, _ := os.Readlink(p.path(pid, "cwd"))
	return l
}

// fdKind says what an open file descriptor is: "socket", "pipe", "tty",
// "null", "file" or "" if it cannot be read.
func (p procfs) fdKind(pid int32, fd int) string {
	l, err := os.Readlink(p.path(pid, "fd/"+strconv.Itoa(fd)))
	if err != nil {
		return ""
	}
	return linkKind(l)
}

// linkKind classifies the target of a /proc/PID/fd link.
func linkKind(l string) string {
	switch {
	case strings.HasPrefix(l, "socket:["):
		return "socket"
	case strings.HasPrefix(l, "pipe:["):
		return "pipe"
	case l == "/dev/null":
		return "null"
	case strings.HasPrefix(l, "/dev/pts/"), strings.HasPrefix(l, "/dev/tty"), l == "/dev/console":
		return "tty"
	default:
		return "file"
	}
}

// nsInum reads a namespace link such as "mnt:[4026531841]".
func (p procfs) nsInum(pid int32, ns string) uint32 {
	l, err := os.Readlink(p.path(pid, "ns/"+ns))
	if err != nil {
		return 0
	}
	_, v, ok := strings.Cut(l, "[")
	if !ok {
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSuffix(v, "]"), 10, 32)
	return uint32(n)
}

func (p procfs) containerID(pid int32) (string, bool) {
	b, err := readLimited(p.path(pid, "cgroup"), 16384)
	if err != nil {
		return "", false
	}
	return containerIDFromCgroup(b), true
}

// process reads a whole process from /proc. ok is false if it is gone.
func (p procfs) process(pid int32) (Process, bool) {
	st, ok := p.stat(pid)
	if !ok {
		return Process{}, false
	}
	pr := Process{PID: pid, PPID: st.ppid, StartTime: st.start, Name: st.comm, TTY: st.tty}
	p.status(pid, &pr)
	p.fill(pid, &pr)
	pr.MntNS = p.nsInum(pid, "mnt")
	pr.PidNS = p.nsInum(pid, "pid")
	return pr, true
}

// fill adds what only /proc tells: args, exe, cwd and stdio kinds. Fields
// it cannot read are left as they are.
func (p procfs) fill(pid int32, pr *Process) {
	if args := p.cmdline(pid); args != nil {
		pr.Args = args
	}
	if exe, del, memfd, ok := p.exe(pid); ok {
		pr.Exe, pr.ExeDeleted, pr.ExeMemfd = exe, del, memfd
	}
	if cwd := p.cwd(pid); cwd != "" {
		pr.Cwd = cwd
	}
	if k := p.fdKind(pid, 0); k != "" {
		pr.Stdin = k
	}
	if k := p.fdKind(pid, 1); k != "" {
		pr.Stdout = k
	}
}

// pids lists the processes in /proc.
func (p procfs) pids() ([]int32, error) {
	d, err := os.Open(p.root)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", p.root, err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", p.root, err)
	}
	var out []int32
	for _, n := range names {
		if v, err := strconv.ParseInt(n, 10, 32); err == nil && v > 0 {
			out = append(out, int32(v))
		}
	}
	return out, nil
}
