package spool

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"
)

// TestWriterAndReader runs an appending goroutine against a reading and
// acknowledging one, over small segments that are created and deleted
// while both work: the reader sees every record once, in order, intact.
func TestWriterAndReader(t *testing.T) {
	const n = 3000
	dir := t.TempDir()
	s := open(t, dir, Options{SegmentBytes: 4096})
	writeErr := make(chan error, 1)
	go func() {
		for seq := uint64(1); seq <= n; seq++ {
			if err := s.Append(seq, payload(seq)); err != nil {
				writeErr <- err
				return
			}
		}
		writeErr <- nil
	}()

	deadline := time.After(time.Minute)
	var last uint64
	for last < n {
		seq, p, err := s.Next(last)
		if errors.Is(err, io.EOF) {
			select {
			case <-s.Appended():
			case err := <-writeErr:
				if err != nil {
					t.Fatal(err)
				}
				writeErr <- nil
				time.Sleep(time.Millisecond)
			case <-deadline:
				t.Fatalf("stuck after %d", last)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if seq != last+1 || !bytes.Equal(p, payload(seq)) {
			t.Fatalf("after %d read %d (%d bytes)", last, seq, len(p))
		}
		last = seq
		if seq%37 == 0 {
			if err := s.Ack(seq); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := <-writeErr; err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(n); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Records != 0 || st.Segments != 0 || st.Spooled != n || st.Replayed != n {
		t.Errorf("stats %+v", st)
	}
}
