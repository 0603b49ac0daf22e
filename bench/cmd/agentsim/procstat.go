package main

import (
	"github.com/vigil-sec/vigil/bench/internal/procstat"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

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
		if c, err := procstat.CPU(pid); err == nil {
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
		if r, _, err := procstat.Mem(pid); err == nil {
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
	return float64(t) / procstat.ClkTck
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
	c, err := procstat.CPU(pid)
	return cpuMeter{pid: pid, t0: time.Now(), c0: c, valid: err == nil}
}

// stop returns CPU seconds used and the average share of one core, in %.
func (m cpuMeter) stop() (seconds, percent float64) {
	if !m.valid {
		return 0, 0
	}
	c, err := procstat.CPU(m.pid)
	if err != nil {
		return 0, 0
	}
	el := time.Since(m.t0).Seconds()
	return c - m.c0, 100 * (c - m.c0) / el
}
