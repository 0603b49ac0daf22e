package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

const (
	ackFile  = "ack"
	ackTemp  = "ack.tmp"
	ackMagic = "VSPA"
	ackSize  = 16
)

// readAck returns the acknowledgement mark of dir: 0 if there is none, and
// 0 with the file's size as damage if it does not check out (records are
// then sent again rather than lost).
func readAck(dir string) (acked uint64, damaged int64, err error) {
	f, err := os.Open(filepath.Join(dir, ackFile))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, ackSize+1))
	if err != nil {
		return 0, 0, err
	}
	if len(b) != ackSize || string(b[:4]) != ackMagic ||
		binary.LittleEndian.Uint32(b[12:]) != crc32.Checksum(b[:12], castagnoli) {
		fi, err := f.Stat()
		if err != nil {
			return 0, 0, err
		}
		return 0, max(fi.Size(), 1), nil
	}
	return binary.LittleEndian.Uint64(b[4:]), 0, nil
}

// writeAck replaces the acknowledgement mark by rename.
func writeAck(dir string, acked uint64, sync bool) (err error) {
	b := make([]byte, ackSize)
	copy(b, ackMagic)
	binary.LittleEndian.PutUint64(b[4:], acked)
	binary.LittleEndian.PutUint32(b[12:], crc32.Checksum(b[:12], castagnoli))
	tmp := filepath.Join(dir, ackTemp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	_, err = f.Write(b)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, ackFile)); err != nil {
		return err
	}
	if sync {
		return syncDir(dir)
	}
	return nil
}

// Ack acknowledges every record up to and including upTo: Next no longer
// returns them, the mark is persisted, and segments holding only
// acknowledged records are deleted. Acknowledging a mark already passed
// does nothing (but retries writing a mark that could not be written); one
// beyond Stats.Last is refused (ErrAckAhead).
//
// If the mark cannot be written (a full disk), Ack still forgets the
// records and deletes their segments, except the newest one, which keeps
// the sequence numbers known across a restart; it returns the error, and
// the next Ack or Close writes the mark again. Until one succeeds, a
// restart may return records of that segment again.
func (s *Spool) Ack(upTo uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if upTo <= s.acked {
		if s.saved == s.acked {
			return nil
		}
		upTo = s.acked
	}
	if upTo > s.last {
		return fmt.Errorf("spool: %w: %d, last is %d", ErrAckAhead, upTo, s.last)
	}
	var errs []error
	persistErr := s.saveAck(upTo)
	if persistErr != nil {
		errs = append(errs, persistErr)
	}
	s.acked = upTo
	for len(s.segs) > 0 {
		seg := s.segs[0]
		if seg.last > upTo {
			break
		}
		if persistErr != nil && len(s.segs) == 1 {
			seg.ackOff, seg.ackN = seg.end, seg.n
			break
		}
		if err := s.removeFront(); err != nil {
			errs = append(errs, err)
			break
		}
	}
	if len(s.segs) > 0 && s.segs[0].first <= upTo && s.segs[0].last > upTo {
		s.advanceAck(s.segs[0], upTo)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("spool: ack %d: %w", upTo, err)
	}
	return nil
}

// saveAck persists the acknowledgement mark.
func (s *Spool) saveAck(acked uint64) error {
	if err := writeAck(s.dir, acked, s.opts.Sync); err != nil {
		return fmt.Errorf("write acknowledgement mark: %w", err)
	}
	s.saved = acked
	return nil
}

// advanceAck moves the oldest segment's ackOff past the records up to upTo,
// reading headers only.
func (s *Spool) advanceAck(seg *segment, upTo uint64) {
	c := cursor{seg: seg, off: seg.ackOff, ord: seg.ackN, prev: 0}
	for c.off < seg.end {
		h, err := s.readHeader(c)
		if err != nil {
			// Everything before c is acknowledged. Damage drops the
			// segment if nothing else is left in it; after a read error
			// Next skips the rest by sequence number.
			seg.ackOff, seg.ackN = c.off, c.ord
			if errors.Is(err, errDamaged) {
				s.damage(c)
			}
			return
		}
		if h.seq > upTo {
			break
		}
		c.off += headerSize + int64(h.n)
		c.ord++
		c.prev = h.seq
	}
	seg.ackOff, seg.ackN = c.off, c.ord
}

// removeFront deletes the oldest segment. If the file cannot be removed
// its records stay acknowledged and the next Ack that moves the mark tries
// again.
func (s *Spool) removeFront() error {
	seg := s.segs[0]
	if seg == s.actSeg {
		s.active.Close()
		s.active, s.actSeg = nil, nil
	}
	if seg == s.rseg {
		s.closeReader()
	}
	if err := os.Remove(seg.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		seg.ackOff, seg.ackN, seg.sealed = seg.end, seg.n, true
		return err
	}
	seg.gone = true
	s.segs = s.segs[1:]
	s.bytes -= seg.size
	return nil
}
