package spool

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// TestDiskFull fills a 64 KiB tmpfs: Append returns the write error (not
// ErrFull), leaves no partial record behind, and the spool recovers once
// acknowledgements free space.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: mounting a small tmpfs to fill needs root")
	}
	// Small segments: the disk fills when a segment is created, or inside
	// one; one big segment: inside it, and acknowledging frees nothing.
	t.Run("segments", func(t *testing.T) { testDiskFull(t, 8<<10) })
	t.Run("one segment", func(t *testing.T) { testDiskFull(t, 1<<20) })
}

func testDiskFull(t *testing.T, segBytes int64) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("skipping: cannot mount a tmpfs: %v: %s", err, out)
	}
	var s *Spool
	t.Cleanup(func() {
		if s != nil {
			s.Close()
		}
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	o := Options{MaxBytes: 1 << 20, SegmentBytes: segBytes, Sync: true}
	s, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}

	var appended []uint64
	var diskErr error
	for seq := uint64(1); seq < 10000; seq++ {
		if err := s.Append(seq, payload(seq)); err != nil {
			diskErr = err
			break
		}
		appended = append(appended, seq)
	}
	if !errors.Is(diskErr, syscall.ENOSPC) || errors.Is(diskErr, ErrFull) {
		t.Fatalf("append on a full disk = %v, want ENOSPC", diskErr)
	}
	t.Logf("disk full after %d records: %v", len(appended), diskErr)
	checkConsistent := func(when string) {
		t.Helper()
		st := s.Stats()
		var size int64
		for _, f := range segFiles(t, dir) {
			fi, err := os.Stat(f)
			if err != nil {
				t.Fatal(err)
			}
			size += fi.Size()
		}
		if size != st.Bytes {
			t.Errorf("%s: segment files hold %d bytes, the spool counts %d (partial record left?)", when, size, st.Bytes)
		}
		if st.Dropped != 0 {
			t.Errorf("%s: %d records counted as dropped for a disk error", when, st.Dropped)
		}
	}
	checkConsistent("when full")
	if got := readAll(t, s, 0); !equalSeqs(got, appended) {
		t.Fatalf("read %s, appended %s", short(got), short(appended))
	}
	next := appended[len(appended)-1] + 1
	// Still full: the same record fails the same way, harmlessly.
	if err := s.Append(next, payload(next)); err == nil {
		t.Log("a retry fit in the remaining space")
		appended = append(appended, next)
		next++
	}
	checkConsistent("after a retry")

	// Acknowledge half: whole segments go, and appends work again. The ack
	// mark itself may not fit; Ack then reports it but frees space anyway.
	half := appended[len(appended)/2]
	if err := s.Ack(half); err != nil {
		if !errors.Is(err, syscall.ENOSPC) {
			t.Fatal(err)
		}
		t.Logf("first ack: %v", err)
	}
	if s.Stats().Segments == 1 {
		// Nothing freed: appends still fail, and the spool stays sound.
		if err := s.Append(next, payload(next)); err == nil {
			appended = append(appended, next)
		}
		checkConsistent("after ack")
		s.Close()
		s, err = Open(dir, o)
		if err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.Truncated != 0 || st.Corrupt != 0 {
			t.Errorf("stats after reopen %+v", st)
		}
		if got := readAll(t, s, 0); len(got) == 0 || got[0] > half+1 || got[len(got)-1] != appended[len(appended)-1] {
			t.Errorf("after reopen read %s, appended %s, acked %d", short(got), short(appended), half)
		}
		return
	}
	for range 3 {
		if err := s.Append(next, payload(next)); err != nil {
			t.Fatalf("append %d after freeing space: %v", next, err)
		}
		appended = append(appended, next)
		next++
	}
	if err := s.Ack(half); err != nil { // the mark fits now
		t.Fatal(err)
	}
	checkConsistent("after ack")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Truncated != 0 || st.Corrupt != 0 || st.Acked != half {
		t.Errorf("stats after reopen %+v", st)
	}
	var want []uint64
	for _, seq := range appended {
		if seq > half {
			want = append(want, seq)
		}
	}
	if got := readAll(t, s, 0); !equalSeqs(got, want) {
		t.Errorf("after reopen read %s, want %s", short(got), short(want))
	}
	if _, err := os.Stat(filepath.Join(dir, ackTemp)); err == nil {
		t.Error("temporary ack file left behind")
	}
}
