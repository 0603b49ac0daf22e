package agent

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// rssFile reads the process's resident file-backed memory (KiB).
func rssFile(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("skipping: no /proc/self/status: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatalf("RssFile %q: %v", v, err)
			}
			return n
		}
	}
	t.Skip("skipping: no RssFile in /proc/self/status")
	return 0
}

func TestReleaseExecutable(t *testing.T) {
	before := rssFile(t)
	n := releaseExecutable()
	after := rssFile(t)
	if n == 0 {
		t.Skipf("skipping: the kernel refused MADV_PAGEOUT on the test binary (needs Linux 5.4); RssFile %d KiB", before)
	}
	t.Logf("asked about %d KiB of the executable; RssFile %d → %d KiB", n>>10, before, after)
	// Most of what this test binary touched is gone; what comes back is the
	// little code between the two reads.
	if after > before/2 {
		t.Fatalf("RssFile %d KiB after release, %d KiB before: the executable's pages were not reclaimed", after, before)
	}
	// The code still runs (it faults back in) and ReleaseMemory is safe to
	// call again at once.
	ReleaseMemory()
	if got := rssFile(t); got > before {
		t.Fatalf("RssFile grew to %d KiB", got)
	}
}
