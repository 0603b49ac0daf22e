package spool

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
)

// payload is the deterministic payload of record seq: 0 to 299 bytes that
// name it, so that any mix-up shows.
func payload(seq uint64) []byte {
	n := int(seq*37) % 300
	p := bytes.Repeat([]byte(fmt.Sprintf("<%d>", seq)), n/3+1)
	return p[:n]
}

func open(t testing.TB, dir string, o Options) *Spool {
	t.Helper()
	s, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// appendRange appends records from..to (inclusive) with their payloads.
func appendRange(t testing.TB, s *Spool, from, to uint64) {
	t.Helper()
	for seq := from; seq <= to; seq++ {
		if err := s.Append(seq, payload(seq)); err != nil {
			t.Fatalf("append %d: %v", seq, err)
		}
	}
}

// readAll reads every record after `after` with Next and checks each
// payload; it returns the sequence numbers.
func readAll(t testing.TB, s *Spool, after uint64) []uint64 {
	t.Helper()
	var seqs []uint64
	for {
		seq, p, err := s.Next(after)
		if errors.Is(err, io.EOF) {
			return seqs
		}
		if err != nil {
			t.Fatalf("next after %d: %v", after, err)
		}
		if seq <= after {
			t.Fatalf("next after %d returned %d", after, seq)
		}
		if !bytes.Equal(p, payload(seq)) {
			t.Fatalf("record %d: payload %q, want %q", seq, p, payload(seq))
		}
		seqs = append(seqs, seq)
		after = seq
	}
}

// seqRange returns from..to.
func seqRange(from, to uint64) []uint64 {
	var s []uint64
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func equalSeqs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// short describes a list of sequence numbers for failure messages.
func short(s []uint64) string {
	if len(s) <= 10 {
		return fmt.Sprint(s)
	}
	return fmt.Sprintf("%v … %v (%d)", s[:5], s[len(s)-5:], len(s))
}
