package sensor

import (
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
		if _, ok := syscallNumbers[sys]; !ok {
			t.Errorf("program %s: no number for %q", name, sys)
		}
		if _, ok := syscallKinds[sys]; !ok {
			t.Errorf("program %s: no kind for %q", name, sys)
		}
	}
	if dispatchers != 2 {
		t.Errorf("%d dispatchers, want sys_enter and sys_exit", dispatchers)
	}
}
