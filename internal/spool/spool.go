package spool

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Defaults for a zero Options.
const (
	DefaultMaxBytes     = 64 << 20
	DefaultSegmentBytes = 4 << 20
)

// Options configures a Spool. The zero value is usable.
type Options struct {
	// MaxBytes bounds the segment files, framing included (default
	// DefaultMaxBytes).
	MaxBytes int64
	// SegmentBytes is the size at which a new segment file is started
	// (default DefaultSegmentBytes, at most MaxBytes). A record larger than
	// it gets a segment of its own.
	SegmentBytes int64
	// Sync makes Append and Ack fsync before returning, so that what they
	// report done survives power loss. Without it, records survive the
	// agent's crash but not the machine's.
	Sync bool
}

func (o Options) withDefaults() (Options, error) {
	if o.MaxBytes < 0 || o.SegmentBytes < 0 {
		return o, fmt.Errorf("negative size in options %+v", o)
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.SegmentBytes == 0 {
		o.SegmentBytes = DefaultSegmentBytes
	}
	o.SegmentBytes = min(o.SegmentBytes, o.MaxBytes)
	return o, nil
}

// Stats describes a Spool. Counters are since Open.
type Stats struct {
	Records  int    // records not acknowledged
	Bytes    int64  // size of the segment files
	Segments int    // segment files
	Acked    uint64 // acknowledgement mark: records up to it are done
	Last     uint64 // highest sequence number appended or acknowledged
	Spooled  uint64 // records appended
	Replayed uint64 // records returned by Next (re-reads included)
	Dropped  uint64 // records refused with ErrFull or ErrTooLarge

	// Truncated counts bytes cut from the end of the newest segment at
	// Open: a record torn by a crash, or a corrupt end.
	Truncated int64
	// Corrupt counts bytes lost to damage elsewhere: the rest of an older
	// segment after a bad record (at Open or while reading), or an
	// unreadable acknowledgement mark.
	Corrupt int64
}

// segment is one segment file.
type segment struct {
	base        uint64 // from the file name
	path        string
	size        int64 // bytes in the file
	end         int64 // records are in [0, end); below size after damage
	n           int   // records in [0, end)
	first, last uint64
	ackOff      int64 // first record above the acknowledgement mark (oldest segment)
	ackN        int   // records before ackOff
	sealed      bool  // takes no more appends
	gone        bool  // deleted
}

// cursor is a reading position: the record at off, the ord-th of seg, and
// prev, the sequence number before it.
type cursor struct {
	seg  *segment
	off  int64
	ord  int
	prev uint64
}

// Spool is an open spool directory. Its methods are safe for concurrent
// use; they are meant for one writer and one reader.
type Spool struct {
	dir  string
	opts Options
	lock *os.File

	mu     sync.Mutex
	closed bool
	segs   []*segment // oldest first
	active *os.File   // open for appends: the newest segment, activeSeg
	actSeg *segment
	rf     *os.File // open for reading: rseg
	rseg   *segment
	cur    cursor // after the record Next returned last
	acked  uint64 // acknowledgement mark
	saved  uint64 // acknowledgement mark on disk
	last   uint64
	bytes  int64
	wbuf   []byte
	notify chan struct{}
	stats  Stats // counters only
}

// Open opens the spool in dir, creating the directory (mode 0700) if
// needed, and recovers it: damaged records are cut off and counted (see
// the package documentation), segments fully acknowledged are deleted. It
// fails with ErrLocked if another Spool has dir open.
func Open(dir string, o Options) (*Spool, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open spool %s: %w", dir, err)
	}
	s := &Spool{dir: dir, opts: o, lock: lock, notify: make(chan struct{}, 1)}
	if err := s.recover(); err != nil {
		unlockDir(lock)
		return nil, fmt.Errorf("open spool %s: %w", dir, err)
	}
	return s, nil
}

const segSuffix = ".seg"

func segName(base uint64) string { return fmt.Sprintf("%020d%s", base, segSuffix) }

// parseSegName returns the base of a segment file name.
func parseSegName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segSuffix)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil
}

// recover reads the acknowledgement mark and checks every segment.
func (s *Spool) recover() error {
	acked, bad, err := readAck(s.dir)
	if err != nil {
		return err
	}
	s.acked, s.saved, s.stats.Corrupt = acked, acked, bad
	os.Remove(filepath.Join(s.dir, ackTemp))

	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	var bases []uint64
	for _, e := range entries {
		if b, ok := parseSegName(e.Name()); ok && e.Type().IsRegular() {
			bases = append(bases, b)
		}
	}
	slices.Sort(bases)

	var prev uint64
	changed := false
	for i, base := range bases {
		seg := &segment{base: base, path: filepath.Join(s.dir, segName(base))}
		sc, size, err := scanFile(seg.path, prev, s.acked)
		if err != nil {
			return err
		}
		if sc.end < size {
			if i == len(bases)-1 {
				s.stats.Truncated += size - sc.end
			} else {
				s.stats.Corrupt += size - sc.end
			}
			if err := truncate(seg.path, sc.end, s.opts.Sync); err != nil {
				return err
			}
			changed = true
		}
		if sc.n == 0 || sc.last <= s.acked {
			if err := os.Remove(seg.path); err != nil {
				return err
			}
			changed = true
			if sc.n > 0 {
				prev = sc.last
			}
			continue
		}
		seg.size, seg.end, seg.n = sc.end, sc.end, sc.n
		seg.first, seg.last = sc.first, sc.last
		seg.ackOff, seg.ackN = sc.ackOff, sc.ackN
		s.segs = append(s.segs, seg)
		s.bytes += seg.size
		prev = sc.last
	}
	s.last = max(s.acked, prev)
	if changed && s.opts.Sync {
		return syncDir(s.dir)
	}
	return nil
}

// scanFile runs scanSegment over a segment file.
func scanFile(path string, prev, acked uint64) (scanned, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return scanned{}, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return scanned{}, 0, err
	}
	sc, err := scanSegment(bufio.NewReaderSize(f, 64<<10), fi.Size(), prev, acked)
	if err != nil {
		return sc, 0, fmt.Errorf("read %s: %w", path, err)
	}
	return sc, fi.Size(), nil
}

func truncate(path string, size int64, sync bool) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return err
	}
	if sync {
		return f.Sync()
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Appended returns a channel that receives a value after an Append (one
// value may stand for several appends): the reader waits on it when Next
// reports nothing to read.
func (s *Spool) Appended() <-chan struct{} { return s.notify }

// Stats returns the spool's counters and size.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Bytes, st.Segments, st.Acked, st.Last = s.bytes, len(s.segs), s.acked, s.last
	for _, seg := range s.segs {
		st.Records += seg.n - seg.ackN
	}
	return st
}

// Close writes the acknowledgement mark if an Ack could not, syncs and
// closes the files and releases the directory. Later calls of other
// methods return ErrClosed.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	if s.saved != s.acked {
		errs = append(errs, s.saveAck(s.acked))
	}
	if s.active != nil {
		if !s.opts.Sync {
			errs = append(errs, s.active.Sync())
		}
		errs = append(errs, s.active.Close())
		s.active, s.actSeg = nil, nil
	}
	s.closeReader()
	errs = append(errs, unlockDir(s.lock))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close spool %s: %w", s.dir, err)
	}
	return nil
}

// closeReader closes the read handle.
func (s *Spool) closeReader() {
	if s.rf != nil {
		s.rf.Close()
		s.rf, s.rseg = nil, nil
	}
}
