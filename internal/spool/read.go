package spool

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
)

// Next returns the oldest record numbered above after that is not
// acknowledged, or io.EOF if there is none yet (wait on Appended). The
// sender passes the last sequence number it took, or 0 (or the ack mark)
// to start again from the oldest unacknowledged record after a reconnect;
// reading on from the previous record costs one read.
//
// A record found damaged is skipped with the rest of its segment, counted
// in Stats.Corrupt, and reading goes on with the next segment.
func (s *Spool) Next(after uint64) (seq uint64, payload []byte, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, nil, ErrClosed
	}
	after = max(after, s.acked)
	c := s.cur
	if c.seg == nil || c.seg.gone || c.prev != after || c.off > c.seg.end {
		c = s.seek(after)
	}
	for c.seg != nil {
		if c.off >= c.seg.end {
			c = s.seek(max(c.prev, c.seg.last, after))
			continue
		}
		h, err := s.readHeader(c)
		if errors.Is(err, errDamaged) {
			s.damage(c)
			c = s.seek(max(c.prev, after))
			continue
		}
		if err != nil {
			return 0, nil, err
		}
		if h.seq <= after { // skip without reading the payload
			c.off += headerSize + int64(h.n)
			c.ord++
			c.prev = h.seq
			continue
		}
		payload, err := s.readPayload(c, h)
		if errors.Is(err, errDamaged) {
			s.damage(c)
			c = s.seek(max(c.prev, after))
			continue
		}
		if err != nil {
			return 0, nil, err
		}
		c.off += headerSize + int64(h.n)
		c.ord++
		c.prev = h.seq
		s.cur = c
		s.stats.Replayed++
		return h.seq, payload, nil
	}
	return 0, nil, io.EOF
}

// seek returns a cursor at the start of the unacknowledged records of the
// first segment holding a record above after, or one with no segment.
func (s *Spool) seek(after uint64) cursor {
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].last > after })
	if i == len(s.segs) {
		return cursor{}
	}
	seg := s.segs[i]
	if i == 0 {
		return cursor{seg: seg, off: seg.ackOff, ord: seg.ackN, prev: s.acked}
	}
	return cursor{seg: seg, prev: s.segs[i-1].last}
}

// reader returns a file to read seg from.
func (s *Spool) reader(seg *segment) (*os.File, error) {
	if seg == s.actSeg {
		return s.active, nil
	}
	if seg == s.rseg {
		return s.rf, nil
	}
	s.closeReader()
	f, err := os.Open(seg.path)
	if err != nil {
		return nil, err
	}
	s.rf, s.rseg = f, seg
	return f, nil
}

// readHeader reads and checks the header at c; errDamaged if it cannot be
// one.
func (s *Spool) readHeader(c cursor) (header, error) {
	f, err := s.reader(c.seg)
	if errors.Is(err, fs.ErrNotExist) {
		return header{}, errDamaged // deleted behind our back
	}
	if err != nil {
		return header{}, fmt.Errorf("spool: read: %w", err)
	}
	var b [headerSize]byte
	if _, err := f.ReadAt(b[:], c.off); err != nil {
		if errors.Is(err, io.EOF) {
			return header{}, errDamaged // the file is shorter than it was
		}
		return header{}, fmt.Errorf("spool: read %s: %w", c.seg.path, err)
	}
	h := parseHeader(b[:])
	if err := h.check(c.off, c.seg.end, c.prev); err != nil {
		return header{}, err
	}
	return h, nil
}

// readPayload reads the payload of the record at c with header h and
// verifies its checksum.
func (s *Spool) readPayload(c cursor, h header) ([]byte, error) {
	f, err := s.reader(c.seg)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errDamaged
	}
	if err != nil {
		return nil, fmt.Errorf("spool: read: %w", err)
	}
	b := make([]byte, headerSize+int(h.n))
	if _, err := f.ReadAt(b, c.off); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errDamaged
		}
		return nil, fmt.Errorf("spool: read %s: %w", c.seg.path, err)
	}
	if parseHeader(b) != h || checksum(b, b[headerSize:]) != h.sum {
		return nil, errDamaged
	}
	return b[headerSize:], nil
}

// damage gives up on the records of c.seg from c on: they count as
// corrupt, the segment takes no more appends, and it is deleted if nothing
// unacknowledged is left in it.
func (s *Spool) damage(c cursor) {
	seg := c.seg
	s.stats.Corrupt += seg.end - c.off
	seg.end, seg.n = c.off, c.ord
	if seg.n > seg.ackN {
		seg.last = c.prev
	}
	if seg == s.actSeg {
		s.active.Close()
		s.active, s.actSeg = nil, nil
	}
	seg.sealed = true
	if seg.n > seg.ackN {
		return
	}
	if seg == s.rseg {
		s.closeReader()
	}
	// If the file cannot be removed, the next Open finds the same damage
	// and removes it then.
	os.Remove(seg.path)
	seg.gone = true
	s.bytes -= seg.size
	s.segs = deleteSeg(s.segs, seg)
}

func deleteSeg(segs []*segment, seg *segment) []*segment {
	for i, x := range segs {
		if x == seg {
			return append(segs[:i:i], segs[i+1:]...)
		}
	}
	return segs
}
