package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// segFiles returns dir's segment files, oldest first.
func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// copyDir copies the regular files of src into a new temporary directory.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	copyInto(t, src, dst)
	return dst
}

// copyInto replaces the files of dst with copies of those of src.
func copyInto(t testing.TB, src, dst string) {
	t.Helper()
	old, err := os.ReadDir(dst)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range old {
		os.Remove(filepath.Join(dst, e.Name()))
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// recordOffsets returns the offset of each record of a segment file.
func recordOffsets(t testing.TB, path string) []int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	for off := int64(0); off < int64(len(b)); {
		offs = append(offs, off)
		off += headerSize + int64(parseHeader(b[off:]).n)
	}
	return offs
}

// flip inverts one byte of a file.
func flip(t testing.TB, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestTornTailEveryOffset simulates a crash during the last append at
// every byte of the last record: earlier records survive intact, the torn
// one is cut off and counted, and the spool takes appends again. The last
// record follows others in its segment, or starts a segment.
func TestTornTailEveryOffset(t *testing.T) {
	for _, segBytes := range []int64{1500, 1} {
		t.Run(fmt.Sprintf("segments of %d bytes", segBytes), func(t *testing.T) {
			testTornTail(t, Options{SegmentBytes: segBytes})
		})
	}
}

func testTornTail(t *testing.T, o Options) {
	const n = 27 // its record is 115 bytes: every one of them is a cut
	base := t.TempDir()
	s := open(t, base, o)
	appendRange(t, s, 1, n)
	if err := s.Ack(3); err != nil {
		t.Fatal(err)
	}
	s.Close()
	files := segFiles(t, base)
	lastFile := filepath.Base(files[len(files)-1])
	fi, err := os.Stat(files[len(files)-1])
	if err != nil {
		t.Fatal(err)
	}
	size := fi.Size()
	start := size - headerSize - int64(len(payload(n)))

	dir := t.TempDir()
	for cut := start; cut < size; cut++ {
		copyInto(t, base, dir)
		path := filepath.Join(dir, lastFile)
		if err := os.Truncate(path, cut); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir, o)
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		st := s.Stats()
		if st.Truncated != cut-start || st.Corrupt != 0 || st.Last != n-1 || st.Records != n-4 {
			t.Fatalf("cut at %d of %d (record at %d): stats %+v", cut, size, start, st)
		}
		if got := readAll(t, s, 0); !equalSeqs(got, seqRange(4, n-1)) {
			t.Fatalf("cut at %d: read %s", cut, short(got))
		}
		fi, err := os.Stat(path)
		switch {
		case start == 0 && !os.IsNotExist(err):
			t.Fatalf("cut at %d: the emptied segment was kept (%v)", cut, err)
		case start > 0 && err != nil:
			t.Fatal(err)
		case start > 0 && fi.Size() != start:
			t.Fatalf("cut at %d: segment is %d bytes after Open, want %d", cut, fi.Size(), start)
		}
		// The torn record can be appended again, and all is well on reopen.
		appendRange(t, s, n, n)
		s.Close()
		s, err = Open(dir, o)
		if err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.Truncated != 0 || st.Corrupt != 0 {
			t.Fatalf("cut at %d: after repair and reopen, stats %+v", cut, st)
		}
		if got := readAll(t, s, 0); !equalSeqs(got, seqRange(4, n)) {
			t.Fatalf("cut at %d: after repair, read %s", cut, short(got))
		}
		s.Close()
	}
}

// TestZeroFilledTail covers a file system that extended the segment but
// never wrote the data (zeros after a power loss).
func TestZeroFilledTail(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	appendRange(t, s, 1, 10)
	s.Close()
	files := segFiles(t, dir)
	f, err := os.OpenFile(files[0], os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(make([]byte, 4096))
	f.Close()
	s = open(t, dir, Options{})
	if st := s.Stats(); st.Truncated != 4096 || st.Records != 10 {
		t.Errorf("stats %+v", st)
	}
	if got := readAll(t, s, 0); !equalSeqs(got, seqRange(1, 10)) {
		t.Errorf("read %s", short(got))
	}
}

// TestCorruptSegments damages records in various places of a closed spool.
func TestCorruptSegments(t *testing.T) {
	base := t.TempDir()
	s := open(t, base, Options{SegmentBytes: 700})
	appendRange(t, s, 1, 40)
	s.Close()
	files := segFiles(t, base)
	if len(files) < 4 {
		t.Fatalf("only %d segments", len(files))
	}
	// Records of each segment.
	var segSeqs [][]uint64
	var next uint64 = 1
	for _, f := range files {
		offs := recordOffsets(t, f)
		segSeqs = append(segSeqs, seqRange(next, next+uint64(len(offs))-1))
		next += uint64(len(offs))
	}
	fileSize := func(p string) int64 {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	without := func(drop ...uint64) []uint64 {
		var out []uint64
	outer:
		for _, s := range seqRange(1, 40) {
			for _, d := range drop {
				if s == d {
					continue outer
				}
			}
			out = append(out, s)
		}
		return out
	}
	if len(segSeqs[1]) < 2 {
		t.Fatalf("segment 1 holds %v, want 2 records or more", segSeqs[1])
	}

	tests := []struct {
		name          string
		file          int   // segment index
		record        int   // record index in it
		at            int64 // byte in the record
		lost          []uint64
		truncated     bool // counted as Truncated, else Corrupt
		segmentRemain bool
	}{
		{name: "payload of a middle segment's second record", file: 1, record: 1, at: headerSize + 1,
			lost: segSeqs[1][1:], segmentRemain: true},
		{name: "length of a middle segment's first record", file: 1, record: 0, at: 3,
			lost: segSeqs[1]},
		{name: "sequence number of a middle segment's first record", file: 2, record: 0, at: 8,
			lost: segSeqs[2]},
		{name: "checksum in the first segment", file: 0, record: 0, at: 5,
			lost: segSeqs[0]},
		{name: "last segment, first record", file: len(files) - 1, record: 0, at: 12,
			lost: segSeqs[len(files)-1], truncated: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyDir(t, base)
			path := filepath.Join(dir, filepath.Base(files[tt.file]))
			off := recordOffsets(t, path)[tt.record]
			size := fileSize(path)
			flip(t, path, off+tt.at)
			s := open(t, dir, Options{SegmentBytes: 700})
			st := s.Stats()
			lostBytes := size - off
			if tt.truncated && (st.Truncated != lostBytes || st.Corrupt != 0) ||
				!tt.truncated && (st.Corrupt != lostBytes || st.Truncated != 0) {
				t.Errorf("stats %+v, want %d bytes lost", st, lostBytes)
			}
			if got := readAll(t, s, 0); !equalSeqs(got, without(tt.lost...)) {
				t.Errorf("read %s, want all but %v", short(got), tt.lost)
			}
			if _, err := os.Stat(path); (err == nil) != tt.segmentRemain {
				t.Errorf("damaged segment: stat %v, want it kept %v", err, tt.segmentRemain)
			}
			appendRange(t, s, 41, 41)
			if got := readAll(t, s, 40); !equalSeqs(got, []uint64{41}) {
				t.Errorf("after damage, appended and read %v", got)
			}
		})
	}

	t.Run("segment overlapping an earlier one", func(t *testing.T) {
		dir := copyDir(t, base)
		b, _ := os.ReadFile(files[0])
		os.WriteFile(filepath.Join(dir, segName(39)), b, 0o600) // records 1… sorted between 38 and 40
		s := open(t, dir, Options{})
		if st := s.Stats(); st.Corrupt != int64(len(b)) {
			t.Errorf("stats %+v", st)
		}
		if got := readAll(t, s, 0); !equalSeqs(got, seqRange(1, 40)) {
			t.Errorf("read %s", short(got))
		}
	})
	t.Run("ack mark unreadable", func(t *testing.T) {
		dir := copyDir(t, base)
		os.WriteFile(filepath.Join(dir, ackFile), []byte("garbage"), 0o600)
		s := open(t, dir, Options{})
		if st := s.Stats(); st.Acked != 0 || st.Corrupt != 7 || st.Records != 40 {
			t.Errorf("stats %+v", st)
		}
		if err := s.Ack(5); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s = open(t, dir, Options{})
		if st := s.Stats(); st.Acked != 5 || st.Corrupt != 0 {
			t.Errorf("after a new Ack, stats %+v", st)
		}
	})
}

// TestCorruptionWhileOpen damages records under an open spool: the reader
// skips them, counts them, and never loops; appends go on.
func TestCorruptionWhileOpen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{SegmentBytes: 700})
	appendRange(t, s, 1, 40)
	files := segFiles(t, dir)
	mid := files[1]
	offs := recordOffsets(t, mid)
	b, _ := os.ReadFile(mid)
	midFirst := parseHeader(b).seq
	flip(t, mid, offs[1]+headerSize) // second record's payload
	last := files[len(files)-1]
	lastOffs := recordOffsets(t, last)
	lb, _ := os.ReadFile(last)
	lastFirst := parseHeader(lb).seq
	flip(t, last, lastOffs[0]+9) // the newest segment's first sequence number

	got := readAll(t, s, 0)
	var want []uint64
	for seq := uint64(1); seq <= 40; seq++ {
		inMid := seq > midFirst && seq < midFirst+uint64(len(offs))
		if !inMid && seq < lastFirst {
			want = append(want, seq)
		}
	}
	if !equalSeqs(got, want) {
		t.Fatalf("read %s, want %s", short(got), short(want))
	}
	st := s.Stats()
	if st.Corrupt != int64(len(b))-offs[1]+int64(len(lb)) {
		t.Errorf("corrupt %d bytes, want %d", st.Corrupt, int64(len(b))-offs[1]+int64(len(lb)))
	}
	if st.Records != len(want) {
		t.Errorf("records %d, want %d", st.Records, len(want))
	}
	// The damaged newest segment takes no more appends; a new one does.
	appendRange(t, s, 41, 45)
	if got := readAll(t, s, 40); !equalSeqs(got, seqRange(41, 45)) {
		t.Errorf("read %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, segName(41))); err != nil {
		t.Errorf("no new segment: %v", err)
	}
	// Acknowledging over the damage is fine, and reopening agrees.
	if err := s.Ack(43); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dir, Options{SegmentBytes: 700})
	if got := readAll(t, s, 0); !equalSeqs(got, []uint64{44, 45}) {
		t.Errorf("after reopen read %v", got)
	}
}

// TestDamageFoundByAck damages the oldest segment, then acknowledges into
// it without reading: Ack drops the damaged part and the counts agree.
func TestDamageFoundByAck(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{SegmentBytes: 700})
	appendRange(t, s, 1, 40)
	first := segFiles(t, dir)[0]
	offs := recordOffsets(t, first)
	if len(offs) < 3 {
		t.Fatalf("first segment holds %d records", len(offs))
	}
	// Break the third record's length so that header checks see it.
	f, err := os.OpenFile(first, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0xff, 0xff, 0xff, 0x7f}, offs[2])
	f.Close()
	last := uint64(len(offs)) // the first segment's last record
	if err := s.Ack(last - 1); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Corrupt == 0 || st.Records != int(40-last) {
		t.Errorf("stats %+v, want corrupt bytes and %d records", st, 40-last)
	}
	if got := readAll(t, s, 0); !equalSeqs(got, seqRange(last+1, 40)) {
		t.Errorf("read %s", short(got))
	}
	if _, err := os.Stat(first); !os.IsNotExist(err) {
		t.Errorf("damaged, acknowledged segment kept: %v", err)
	}
}

// TestSegmentDeletedWhileOpen removes a segment file under an open spool:
// its records are lost and counted, and reading goes on.
func TestSegmentDeletedWhileOpen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{SegmentBytes: 700})
	appendRange(t, s, 1, 40)
	files := segFiles(t, dir)
	b, _ := os.ReadFile(files[1])
	n := len(recordOffsets(t, files[1]))
	from := parseHeader(b).seq
	if err := os.Remove(files[1]); err != nil {
		t.Fatal(err)
	}
	var want []uint64
	for seq := uint64(1); seq <= 40; seq++ {
		if seq < from || seq >= from+uint64(n) {
			want = append(want, seq)
		}
	}
	if got := readAll(t, s, 0); !equalSeqs(got, want) {
		t.Errorf("read %s, want %s", short(got), short(want))
	}
	if st := s.Stats(); st.Corrupt != int64(len(b)) || st.Records != len(want) {
		t.Errorf("stats %+v, want %d corrupt bytes", st, len(b))
	}
}
