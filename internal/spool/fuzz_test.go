package spool

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadSegment decodes arbitrary bytes as a segment, directly and
// through Open and Next: nothing panics or loops, the valid prefix
// re-encodes to the same bytes, and the rest is counted.
func FuzzReadSegment(f *testing.F) {
	var good []byte
	for seq := uint64(1); seq <= 3; seq++ {
		good = appendRecord(good, seq, payload(seq))
	}
	f.Add(good)
	f.Add(good[:len(good)-5])
	f.Add(append(bytes.Clone(good), make([]byte, 40)...))
	huge := bytes.Clone(good)
	binary.LittleEndian.PutUint32(huge, 0xffffffff)
	f.Add(huge)
	f.Add(appendRecord(appendRecord(nil, 5, []byte("x")), 5, []byte("y"))) // repeated number
	f.Add([]byte{})
	f.Add(make([]byte, headerSize))

	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := scanSegment(bytes.NewReader(data), int64(len(data)), 0, 2)
		if err != nil {
			t.Fatal(err)
		}
		if sc.end < 0 || sc.end > int64(len(data)) || sc.ackOff > sc.end || sc.ackN > sc.n {
			t.Fatalf("scan %+v of %d bytes", sc, len(data))
		}
		// The valid prefix is exactly a sequence of records.
		var again []byte
		var seqs []uint64
		for off := int64(0); off < sc.end; {
			h := parseHeader(data[off:])
			p := data[off+headerSize : off+headerSize+int64(h.n)]
			again = appendRecord(again, h.seq, p)
			seqs = append(seqs, h.seq)
			off += headerSize + int64(h.n)
		}
		if !bytes.Equal(again, data[:sc.end]) || len(seqs) != sc.n {
			t.Fatalf("valid prefix of %d bytes does not re-encode (%d records)", sc.end, sc.n)
		}

		// The same bytes as the only segment of a spool.
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, segName(1)), data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		st := s.Stats()
		if st.Truncated != int64(len(data))-sc.end || st.Records != sc.n {
			t.Fatalf("stats %+v, scan %+v", st, sc)
		}
		var got []uint64
		for after := uint64(0); ; {
			seq, _, err := s.Next(after)
			if err != nil {
				break
			}
			got = append(got, seq)
			after = seq
		}
		if !equalSeqs(got, seqs) {
			t.Fatalf("Next read %v, scan found %v", got, seqs)
		}
	})
}
