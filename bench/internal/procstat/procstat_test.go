package procstat

import (
	"os"
	"testing"
)

func TestReadMemory(t *testing.T) {
	m, err := ReadMemory(os.Getpid())
	if err != nil {
		t.Skipf("skipping: no /proc/self/status: %v", err)
	}
	if m.RSS <= 0 || m.HWM < m.RSS || m.Anon <= 0 || m.File <= 0 {
		t.Fatalf("implausible memory of this test: %+v", m)
	}
	if sum := m.Anon + m.File + m.Shmem; sum != m.RSS {
		t.Errorf("RssAnon+RssFile+RssShmem = %d KiB, VmRSS %d KiB", sum, m.RSS)
	}
	rss, hwm, err := Mem(os.Getpid())
	if err != nil || rss <= 0 || hwm < rss {
		t.Errorf("Mem: %d, %d, %v", rss, hwm, err)
	}
	if _, err := ReadMemory(-1); err == nil {
		t.Error("no error for a process that cannot exist")
	}
}
