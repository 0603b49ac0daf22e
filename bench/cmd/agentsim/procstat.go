package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clkTck is USER_HZ, the unit of /proc CPU times; it is 100 on every Linux
// architecture Go supports.
const clkTck = 100

// procCPU returns the user+system CPU seconds a process used so far.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name is in parentheses and may hold spaces; fields count
	// from after its closing one.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	// f[0] is field 3 (state); utime is field 14, stime 15.
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad times", pid)
	}
	return float64(ut+st) / clkTck, nil
}

// procMem returns VmRSS and VmHWM of a process in KiB.
func procMem(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	return rss, hwm, nil
}

// uidCPU sums the CPU seconds of every live process of a user (the
// PostgreSQL server's backends); processes that ended are not counted.
func uidCPU(uid int) float64 {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	total := 0.0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat("/proc/"+e.Name(), &st) != nil || int(st.Uid) != uid {
			continue
		}
		if c, err := procCPU(pid); err == nil {
			total += c
		}
	}
	return total
}

// uidRSS sums VmRSS of a user's processes, in KiB (shared pages count
// once per process, so it overstates PostgreSQL's shared buffers).
func uidRSS(uid int) int64 {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var total int64
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat("/proc/"+e.Name(), &st) != nil || int(st.Uid) != uid {
			continue
		}
		if r, _, err := procMem(pid); err == nil {
			total += r
		}
	}
	return total
}

// machineBusy returns the machine's busy CPU seconds so far (user, nice,
// system, irq, softirq, steal) from /proc/stat.
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var t uint64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		n, _ := strconv.ParseUint(f[i], 10, 64)
		t += n
	}
	return float64(t) / clkTck
}

// cpuMeter measures the CPU a process used over an interval, as a share
// of one core.
type cpuMeter struct {
	pid   int
	t0    time.Time
	c0    float64
	valid bool
}

func startCPU(pid int) cpuMeter {
	c, err := procCPU(pid)
	return cpuMeter{pid: pid, t0: time.Now(), c0: c, valid: err == nil}
}

// stop returns CPU seconds used and the average share of one core, in %.
func (m cpuMeter) stop() (seconds, percent float64) {
	if !m.valid {
		return 0, 0
	}
	c, err := procCPU(m.pid)
	if err != nil {
		return 0, 0
	}
	el := time.Since(m.t0).Seconds()
	return c - m.c0, 100 * (c - m.c0) / el
}
