package sensor

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/sensor/bpf"
)

// TestSyscallTables checks, without loading anything, that every system
// call program has a number to be dispatched by and a kind that enables
// it, and that both dispatchers exist: a program missing from the tables
// would never run.
func TestSyscallTables(t *testing.T) {
	spec, err := bpf.LoadSensor()
	if err != nil {
		t.Fatal(err)
	}
	dispatchers := 0
	for name, p := range spec.Programs {
		hook, ok := strings.CutPrefix(p.SectionName, "raw_tracepoint/")
		if !ok {
			continue
		}
		if hook == "sys_enter" || hook == "sys_exit" {
			dispatchers++
			continue
		}
		if !strings.HasPrefix(hook, "sys_enter_") && !strings.HasPrefix(hook, "sys_exit_") {
			continue
		}
		sys := hookName(p.SectionName)
		_, native := syscallNumbers[sys]
		_, compat := compatSyscallNumbers[sys]
		if !native && !strings.HasSuffix(sys, "16") && !strings.HasSuffix(sys, "64") && sys != "socketcall" {
			t.Errorf("program %s: no number for %q", name, sys)
		}
		if !compat && sys != "accept" { // ia32 has no accept of its own
			t.Errorf("program %s: no ia32 number for %q", name, sys)
		}
		if _, ok := syscallKinds[sys]; !ok && multiKindSyscalls[sys] == nil {
			t.Errorf("program %s: no kind for %q", name, sys)
		}
	}
	if dispatchers != 2 {
		t.Errorf("%d dispatchers, want sys_enter and sys_exit", dispatchers)
	}
}

// TestCompatSyscallNumbers checks the ia32 table against the C library's
// <asm/unistd_32.h> where it is installed (linux-libc-dev).
func TestCompatSyscallNumbers(t *testing.T) {
	const header = "/usr/include/x86_64-linux-gnu/asm/unistd_32.h"
	b, err := os.ReadFile(header)
	if err != nil {
		t.Skipf("skipping: no %s to check against (linux-libc-dev): %v", header, err)
	}
	nrs := map[string]uint32{}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && f[0] == "#define" && strings.HasPrefix(f[1], "__NR_") {
			if n, err := strconv.ParseUint(f[2], 10, 32); err == nil {
				nrs[strings.TrimPrefix(f[1], "__NR_")] = uint32(n)
			}
		}
	}
	for name, nr := range compatSyscallNumbers {
		cname := name
		switch {
		case name == "socketcall":
		case strings.HasSuffix(name, "16"): // the original 16-bit-id call
			cname = strings.TrimSuffix(name, "16")
		case strings.HasPrefix(name, "set") && (strings.HasSuffix(name, "uid") || strings.HasSuffix(name, "gid")):
			cname = name + "32"
		}
		want, ok := nrs[cname]
		if !ok {
			if name == "fchmodat2" && nr == 452 { // newer than some headers; one number on every architecture
				continue
			}
			t.Errorf("%s: no __NR_%s in %s", name, cname, header)
			continue
		}
		if nr != want {
			t.Errorf("%s: ia32 number %d, %s says __NR_%s %d", name, nr, header, cname, want)
		}
	}
}
