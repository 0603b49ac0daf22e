package results

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStats(t *testing.T) {
	tsv := "corpus\ttool\trun\twall_s\tmaxrss_kb\tcpu_s\texit\n" +
		"debian\tvigil\t0\t9.00\t100\t1.5\t0\n" + // warm-up: left out
		"debian\tvigil\t1\t3.00\t300\t1.5\t0\n" +
		"debian\tvigil\t2\t1.00\t200\t1.5\t3\n" +
		"debian\tvigil\t3\t2.00\t100\t1.5\t0\n" +
		"debian\tsyft\t1\t5.00\t500\t4\t1\n"
	path := filepath.Join(t.TempDir(), "times.tsv")
	if err := os.WriteFile(path, []byte(tsv), 0o644); err != nil {
		t.Fatal(err)
	}
	runs, err := readTimes(path)
	if err != nil {
		t.Fatal(err)
	}
	st := stats(runs)
	v := st[[2]string{"debian", "vigil"}]
	if v == nil || v.runs != 3 || v.wall != 2 || v.wallMin != 1 || v.wallMax != 3 || v.rssKB != 200 {
		t.Errorf("vigil stat = %+v, want 3 runs, median 2 s (1–3), 200 KiB", v)
	}
	if !v.incompleteVigil || v.failed {
		t.Errorf("vigil: incomplete %v failed %v, want true false", v.incompleteVigil, v.failed)
	}
	if s := st[[2]string{"debian", "syft"}]; s == nil || !s.failed {
		t.Errorf("syft stat = %+v, want failed", s)
	}
	// 20 s of wall time, 30 CPU-seconds busy, 10 of them ours: others
	// kept one CPU busy.
	env := map[string]string{"clk_tck": "100", "cpustat_start": "1000 100.0", "cpustat_end": "4000 120.0"}
	if got, ok := othersLoad(env, runs); !ok || got != 1 {
		t.Errorf("othersLoad = %v, %v; want 1, true", got, ok)
	}
	if _, ok := othersLoad(map[string]string{}, runs); ok {
		t.Error("othersLoad without samples: ok")
	}
}

func TestReadTimesRejectsBadLines(t *testing.T) {
	for _, line := range []string{"a\tb\tc\n", "debian\tvigil\tx\t1\t1\t1\t0\n", "debian\tvigil\t1\t1s\t1\t1\t0\n"} {
		path := filepath.Join(t.TempDir(), "times.tsv")
		if err := os.WriteFile(path, []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := readTimes(path); err == nil {
			t.Errorf("readTimes(%q) = nil error", line)
		}
	}
}

func TestMedianIsMeasured(t *testing.T) {
	if got := median([]float64{1, 2, 3, 4}); got != 2 {
		t.Errorf("median of 4 = %v, want the lower middle 2", got)
	}
	if got := median([]int64{7}); got != 7 {
		t.Errorf("median of 1 = %v, want 7", got)
	}
}
