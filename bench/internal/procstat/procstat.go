// Package procstat reads a process's CPU time and memory from /proc, for
// the benchmarks that measure Vigil's processes and their peers, and holds
// the idle measurement bench/cmd/agentlight writes and agentsim reads.
package procstat

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ClkTck is USER_HZ, the unit of /proc CPU times; it is 100 on every Linux
// architecture Go supports.
const ClkTck = 100

// CPU returns the user+system CPU seconds a process used so far.
func CPU(pid int) (float64, error) {
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
	return float64(ut+st) / ClkTck, nil
}

// Mem returns VmRSS and VmHWM of a process in KiB.
func Mem(pid int) (rss, hwm int64, err error) {
	m, err := ReadMemory(pid)
	return m.RSS, m.HWM, err
}

// Memory is a process's memory from /proc/PID/status, in KiB; RSS is
// Anon + File + Shmem.
type Memory struct {
	RSS, HWM int64 // VmRSS, VmHWM
	Anon     int64 // RssAnon: heap, stacks, the runtime's own
	File     int64 // RssFile: pages of the executable, libraries and other mapped files (an eBPF map's too)
	Shmem    int64 // RssShmem: shared memory
}

// ReadMemory reads a process's Memory.
func ReadMemory(pid int) (Memory, error) {
	var m Memory
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, err
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
			m.RSS = n
		case "VmHWM":
			m.HWM = n
		case "RssAnon":
			m.Anon = n
		case "RssFile":
			m.File = n
		case "RssShmem":
			m.Shmem = n
		}
	}
	return m, nil
}

// Idle is what bench/cmd/agentlight measured of one process left idle:
// the JSON it writes and `agentsim report` reads.
type Idle struct {
	Label          string  `json:"label"`
	Version        string  `json:"version"`
	Command        string  `json:"command"`
	StartupSeconds float64 `json:"startup_s"`
	IdleSeconds    float64 `json:"idle_s"`
	CPUSeconds     float64 `json:"cpu_s"`
	CPUPct         float64 `json:"cpu_pct"`
	RSSAvgKiB      int64   `json:"rss_avg_kib"`
	RSSMaxKiB      int64   `json:"rss_max_kib"`
	RSSEndKiB      int64   `json:"rss_end_kib"`
	// The highest sample's parts (absent from results of before they were
	// recorded).
	RSSMaxAnonKiB  int64  `json:"rss_max_anon_kib,omitempty"`
	RSSMaxFileKiB  int64  `json:"rss_max_file_kib,omitempty"`
	RSSMaxShmemKiB int64  `json:"rss_max_shmem_kib,omitempty"`
	HWMKiB         int64  `json:"hwm_kib"`
	Samples        int    `json:"samples"`
	Note           string `json:"note,omitempty"`
}
