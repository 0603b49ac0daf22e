package spool

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoundTripAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	o := Options{SegmentBytes: 1024, Sync: true}
	s := open(t, dir, o)
	if _, _, err := s.Next(0); !errors.Is(err, io.EOF) {
		t.Fatalf("Next on an empty spool = %v, want io.EOF", err)
	}
	appendRange(t, s, 1, 100)
	if got := readAll(t, s, 0); !equalSeqs(got, seqRange(1, 100)) {
		t.Fatalf("read %s", short(got))
	}
	if err := s.Ack(40); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, 0); !equalSeqs(got, seqRange(41, 100)) {
		t.Fatalf("after Ack(40), read %s", short(got))
	}
	st := s.Stats()
	if st.Records != 60 || st.Acked != 40 || st.Last != 100 || st.Spooled != 100 {
		t.Errorf("stats %+v", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir, o)
	st = s.Stats()
	if st.Records != 60 || st.Acked != 40 || st.Last != 100 || st.Truncated != 0 || st.Corrupt != 0 {
		t.Errorf("stats after reopen %+v", st)
	}
	if got := readAll(t, s, 0); !equalSeqs(got, seqRange(41, 100)) {
		t.Fatalf("after reopen, read %s", short(got))
	}
	// Reading from the middle, as after a partial send.
	if got := readAll(t, s, 70); !equalSeqs(got, seqRange(71, 100)) {
		t.Fatalf("after 70, read %s", short(got))
	}
	appendRange(t, s, 101, 120)
	if err := s.Ack(120); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, 0); len(got) != 0 {
		t.Fatalf("after acking everything, read %s", short(got))
	}
	st = s.Stats()
	if st.Records != 0 || st.Segments != 0 || st.Bytes != 0 || st.Last != 120 {
		t.Errorf("stats after acking everything %+v", st)
	}
	s.Close()

	// The sequence numbers survive even with no record left.
	s = open(t, dir, o)
	if st := s.Stats(); st.Last != 120 || st.Acked != 120 {
		t.Errorf("stats after reopening an empty spool %+v", st)
	}
	if err := s.Append(120, nil); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("append of an acknowledged number = %v, want ErrOutOfOrder", err)
	}
	appendRange(t, s, 121, 121)
	if got := readAll(t, s, 0); !equalSeqs(got, []uint64{121}) {
		t.Errorf("read %v", got)
	}
}

func TestSequenceRules(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	if err := s.Append(0, nil); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("append 0 = %v, want ErrOutOfOrder", err)
	}
	appendRange(t, s, 5, 5)
	for _, seq := range []uint64{5, 4, 1} {
		if err := s.Append(seq, nil); !errors.Is(err, ErrOutOfOrder) {
			t.Errorf("append %d after 5 = %v, want ErrOutOfOrder", seq, err)
		}
	}
	// Gaps are fine.
	if err := s.Append(1000, payload(1000)); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(1001); !errors.Is(err, ErrAckAhead) {
		t.Errorf("Ack beyond the last record = %v, want ErrAckAhead", err)
	}
	if err := s.Ack(7); err != nil { // between records
		t.Fatal(err)
	}
	if err := s.Ack(3); err != nil { // behind the mark: nothing
		t.Fatal(err)
	}
	if got := readAll(t, s, 0); !equalSeqs(got, []uint64{1000}) {
		t.Errorf("read %v", got)
	}
	if st := s.Stats(); st.Records != 1 || st.Acked != 7 || st.Spooled != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestSegmentsDeletedWhenAcked(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{SegmentBytes: 500})
	appendRange(t, s, 1, 60)
	segFiles := func() []string {
		m, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
		return m
	}
	files := segFiles()
	st := s.Stats()
	if len(files) < 5 || st.Segments != len(files) {
		t.Fatalf("%d segment files, stats say %d", len(files), st.Segments)
	}
	var size int64
	for _, f := range files {
		fi, _ := os.Stat(f)
		size += fi.Size()
		if fi.Size() > 500 && fi.Size() > headerSize+300 {
			t.Errorf("%s: %d bytes, over SegmentBytes", f, fi.Size())
		}
	}
	if size != st.Bytes {
		t.Errorf("files hold %d bytes, stats say %d", size, st.Bytes)
	}

	// Acknowledge up to the end of the second segment: the first two go.
	third, err := os.ReadFile(files[2])
	if err != nil {
		t.Fatal(err)
	}
	upTo := parseHeader(third).seq - 1
	if err := s.Ack(upTo); err != nil {
		t.Fatal(err)
	}
	if got := segFiles(); len(got) != len(files)-2 || got[0] != files[2] {
		t.Errorf("after Ack(%d): segments %v, want from %s", upTo, got, files[2])
	}
	if st := s.Stats(); st.Records != int(60-upTo) || st.Segments != len(files)-2 {
		t.Errorf("records %d, want %d", st.Records, 60-upTo)
	}
	if err := s.Ack(60); err != nil {
		t.Fatal(err)
	}
	if got := segFiles(); len(got) != 0 {
		t.Errorf("after acking everything: segments %v", got)
	}
	// Appending goes on in a new segment.
	appendRange(t, s, 61, 62)
	if got := readAll(t, s, 0); !equalSeqs(got, []uint64{61, 62}) {
		t.Errorf("read %v", got)
	}
}

func TestFullSpoolDropsNewest(t *testing.T) {
	dir := t.TempDir()
	const max = 2000
	s := open(t, dir, Options{MaxBytes: max, SegmentBytes: 400})
	var kept []uint64
	dropped := 0
	for seq := uint64(1); seq <= 100; seq++ {
		err := s.Append(seq, payload(seq))
		switch {
		case err == nil:
			kept = append(kept, seq)
		case errors.Is(err, ErrFull):
			dropped++
		default:
			t.Fatalf("append %d: %v", seq, err)
		}
		if b := s.Stats().Bytes; b > max {
			t.Fatalf("after append %d the spool holds %d bytes, over %d", seq, b, max)
		}
	}
	st := s.Stats()
	if dropped == 0 || st.Dropped != uint64(dropped) || st.Spooled != uint64(len(kept)) {
		t.Fatalf("dropped %d, stats %+v", dropped, st)
	}
	// The oldest records are the ones kept.
	if got := readAll(t, s, 0); !equalSeqs(got, kept) || kept[0] != 1 {
		t.Errorf("read %s, kept %s", short(got), short(kept))
	}
	// A record that can never fit.
	if err := s.Append(101, make([]byte, max)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("append of a huge record = %v, want ErrTooLarge", err)
	}
	if got := s.Stats().Dropped; got != uint64(dropped)+1 {
		t.Errorf("dropped %d, want %d", got, dropped+1)
	}
	// Acknowledging frees whole segments, and appends succeed again.
	if err := s.Ack(kept[len(kept)/2]); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(101, payload(101)); err != nil {
		t.Errorf("append after ack: %v", err)
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	s.Close()
	s2 := open(t, dir, Options{})
	s2.Close()
	for name, err := range map[string]error{
		"Append": s.Append(1, nil),
		"Ack":    s.Ack(1),
		"Next":   func() error { _, _, err := s.Next(0); return err }(),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestOptions(t *testing.T) {
	if _, err := Open(t.TempDir(), Options{MaxBytes: -1}); err == nil {
		t.Error("negative MaxBytes accepted")
	}
	o, _ := Options{MaxBytes: 100, SegmentBytes: 1000}.withDefaults()
	if o.SegmentBytes != 100 {
		t.Errorf("SegmentBytes %d, want capped at MaxBytes", o.SegmentBytes)
	}
	o, _ = Options{}.withDefaults()
	if o.MaxBytes != DefaultMaxBytes || o.SegmentBytes != DefaultSegmentBytes {
		t.Errorf("defaults %+v", o)
	}
	// Unrelated files in the directory are left alone.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(dir, "12.seg"), []byte("x"), 0o600)
	s := open(t, dir, Options{})
	appendRange(t, s, 1, 3)
	s.Close()
	for _, name := range []string{"notes.txt", "12.seg"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, segName(1))); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("segment file: %v, mode %v", err, fi.Mode())
	}
	if !strings.HasSuffix(segName(1), "00000000000000000001.seg") {
		t.Errorf("segName(1) = %s", segName(1))
	}
}
