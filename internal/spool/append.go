package spool

import (
	"fmt"
	"os"
	"path/filepath"
)

// maxKeptBuffer is the largest write buffer kept between appends.
const maxKeptBuffer = 1 << 20

// Append adds a record. seq must be above every sequence number appended
// or acknowledged before (Stats.Last), else ErrOutOfOrder. A record that
// would take the spool past Options.MaxBytes is dropped: Append counts it
// in Stats.Dropped and returns ErrFull (ErrTooLarge for one that could
// never fit); the spool keeps its older records. A dropped record's
// sequence number is not used up.
//
// When Append returns nil the record is written (and with Options.Sync,
// fsynced). When writing fails, for instance on a full disk, the partial
// record is cut off again and the error returned; the spool is unchanged.
func (s *Spool) Append(seq uint64, payload []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if seq <= s.last {
		return fmt.Errorf("spool: append %d: %w: last is %d", seq, ErrOutOfOrder, s.last)
	}
	size := int64(headerSize) + int64(len(payload))
	if len(payload) > MaxPayload || size > s.opts.MaxBytes {
		s.stats.Dropped++
		return fmt.Errorf("spool: append %d: %w: %d bytes", seq, ErrTooLarge, len(payload))
	}
	if s.bytes+size > s.opts.MaxBytes {
		s.stats.Dropped++
		return fmt.Errorf("spool: append %d: %w: %d of %d bytes used, record needs %d", seq, ErrFull, s.bytes, s.opts.MaxBytes, size)
	}
	seg, created, err := s.writable(seq, size)
	if err != nil {
		return fmt.Errorf("spool: append %d: %w", seq, err)
	}
	s.wbuf = appendRecord(s.wbuf[:0], seq, payload)
	_, err = s.active.WriteAt(s.wbuf, seg.size)
	if cap(s.wbuf) > maxKeptBuffer {
		s.wbuf = nil
	}
	if err == nil && s.opts.Sync {
		err = s.active.Sync()
	}
	if err != nil {
		s.undo(seg, created)
		return fmt.Errorf("spool: append %d: %w", seq, err)
	}
	seg.size += size
	seg.end = seg.size
	if seg.n == 0 {
		seg.first = seq
	}
	seg.n++
	seg.last = seq
	s.bytes += size
	s.last = seq
	s.stats.Spooled++
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return nil
}

// writable returns the segment the next record of size bytes goes to,
// opening the newest one or starting a new one named after seq (created).
func (s *Spool) writable(seq uint64, size int64) (*segment, bool, error) {
	if s.actSeg != nil {
		if s.actSeg.size == 0 || s.actSeg.size+size <= s.opts.SegmentBytes {
			return s.actSeg, false, nil
		}
		err := s.active.Close()
		s.actSeg.sealed = true
		s.active, s.actSeg = nil, nil
		if err != nil {
			return nil, false, err
		}
	}
	if n := len(s.segs); n > 0 {
		// After Open, keep filling the newest segment if it has room.
		seg := s.segs[n-1]
		if !seg.sealed && seg.size+size <= s.opts.SegmentBytes {
			f, err := os.OpenFile(seg.path, os.O_RDWR, 0)
			if err != nil {
				return nil, false, err
			}
			s.active, s.actSeg = f, seg
			return seg, false, nil
		}
		seg.sealed = true
	}
	seg := &segment{base: seq, path: filepath.Join(s.dir, segName(seq))}
	// A file of that name can only be one dropped at Open or by a failed
	// append: every record in it is numbered below seq or is invalid.
	f, err := os.OpenFile(seg.path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, false, err
	}
	if s.opts.Sync {
		if err := syncDir(s.dir); err != nil {
			f.Close()
			os.Remove(seg.path)
			return nil, false, err
		}
	}
	s.segs = append(s.segs, seg)
	s.active, s.actSeg = f, seg
	return seg, true, nil
}

// undo cuts a failed write off the active segment, or removes the segment
// if the write was its first.
func (s *Spool) undo(seg *segment, created bool) {
	if created {
		s.active.Close()
		os.Remove(seg.path)
		s.active, s.actSeg = nil, nil
		s.segs = s.segs[:len(s.segs)-1]
		if seg == s.rseg {
			s.closeReader()
		}
		seg.gone = true
		return
	}
	if err := s.active.Truncate(seg.size); err != nil {
		// The partial record stays past seg.size, where nothing reads;
		// append elsewhere so that it stays the file's end, which Open
		// cuts off.
		s.active.Close()
		seg.sealed = true
		s.active, s.actSeg = nil, nil
	}
}
