package agent

import (
	"bufio"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ReleaseMemory gives back to the operating system what a burst of work
// (start-up, a full collection) left behind but an idle agent does not
// use: the heap's free pages, and the pages of the agent's own executable
// that the burst paged in.
//
// The second matters as much as the first. Start-up runs every package's
// initialisation, the rule compiler and the eBPF loader; a full
// collection runs every package-database and language-ecosystem reader.
// Each paged-in code and read-only data page stays counted in the
// agent's RSS until the kernel needs the memory, although idle the agent
// runs a small part of its code: about 29 MiB of the executable resident
// after a full collection against about 16 MiB that the idle agent pages
// back in (measured: bench/cmd/agentsim/notes.md). Go has no call for
// this, so it is a system call (releaseExecutable).
func ReleaseMemory() {
	debug.FreeOSMemory()
	releaseExecutable()
}

// releaseExecutable asks the kernel to reclaim (MADV_PAGEOUT, Linux 5.4)
// the resident pages of the executable's read-only mappings: its code,
// read-only data and function tables. They are clean file pages, so
// nothing is written or lost; the ones still used fault back in from the
// file as they are touched. Writable mappings (the executable's data) are
// left alone. Where the kernel lacks MADV_PAGEOUT or refuses it (the
// executable is neither owned by nor writable for the agent's user),
// nothing changes. It reports how many bytes of mappings it asked about.
func releaseExecutable() int {
	var exe unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &exe); err != nil {
		return 0
	}
	// By device and inode; by path too, for a filesystem (overlayfs, in
	// a container) whose mappings name the file underneath.
	exePath, _ := os.Readlink("/proc/self/exe")
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// address perms offset dev inode path
		fs := strings.Fields(sc.Text())
		if len(fs) < 6 || len(fs[1]) < 2 || fs[1][1] == 'w' {
			continue
		}
		ino, err := strconv.ParseUint(fs[4], 10, 64)
		same := err == nil && ino == exe.Ino && sameDevice(fs[3], exe.Dev)
		if !same && (exePath == "" || strings.Join(fs[5:], " ") != exePath) {
			continue
		}
		lo, hi, ok := strings.Cut(fs[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(start), uintptr(end-start), unix.MADV_PAGEOUT); errno != 0 {
			return n
		}
		n += int(end - start)
	}
	return n
}

// sameDevice compares a /proc/self/maps device ("fe:00", hexadecimal
// major:minor) with a stat device number.
func sameDevice(maps string, dev uint64) bool {
	ma, mi, ok := strings.Cut(maps, ":")
	if !ok {
		return false
	}
	major, err1 := strconv.ParseUint(ma, 16, 32)
	minor, err2 := strconv.ParseUint(mi, 16, 32)
	return err1 == nil && err2 == nil && uint32(major) == unix.Major(dev) && uint32(minor) == unix.Minor(dev)
}
