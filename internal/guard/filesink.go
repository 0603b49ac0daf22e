package guard

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
)

// ErrClosed means a sink was written after Close.
var ErrClosed = errors.New("sink closed")

var _ Sink = (*FileSink)(nil)

// FileSink appends alerts as JSON lines to a file, mode 0600, and rotates
// it by size: when a line would take the file past maxBytes it becomes
// path.1 (path.1 becomes path.2 …) and at most keep old files are kept.
// It is detect.FileSink's format and rotation for guard alerts (which
// carry the response record). It is safe for concurrent use.
type FileSink struct {
	path     string
	maxBytes int64
	keep     int

	mu   sync.Mutex
	f    *os.File
	size int64
}

// NewFileSink opens (or creates) the log at path. maxBytes <= 0 means
// 64 MiB; keep < 0 means 0.
func NewFileSink(path string, maxBytes int64, keep int) (*FileSink, error) {
	if maxBytes <= 0 {
		maxBytes = 64 << 20
	}
	s := &FileSink{path: path, maxBytes: maxBytes, keep: max(keep, 0)}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *FileSink) open() error {
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("alert log: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("alert log: %w", err)
	}
	s.f, s.size = f, info.Size()
	return nil
}

// Write appends one alert. A line longer than maxBytes is written alone
// into a fresh file: alerts are never dropped for size.
func (s *FileSink) Write(a *Alert) error {
	line, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("alert log: encode %s: %w", a.RuleID, err)
	}
	line = append(line, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return ErrClosed
	}
	var rotErr error
	if s.size > 0 && s.size+int64(len(line)) > s.maxBytes {
		if rotErr = s.rotate(); s.f == nil {
			return rotErr
		}
	}
	n, err := s.f.Write(line)
	s.size += int64(n)
	if err != nil {
		return errors.Join(rotErr, fmt.Errorf("alert log: %w", err))
	}
	return rotErr
}

// rotate shifts path.keep-1 → path.keep … path → path.1, dropping what
// falls past keep, and opens a fresh file. If shifting fails the file is
// reopened all the same, so one failure does not end the log.
func (s *FileSink) rotate() error {
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("alert log: %w", err)
	}
	s.f = nil
	name := func(i int) string {
		if i == 0 {
			return s.path
		}
		return fmt.Sprintf("%s.%d", s.path, i)
	}
	var err error
	// With keep 0 the oldest is the current file itself.
	if e := os.Remove(name(s.keep)); e != nil && !errors.Is(e, os.ErrNotExist) {
		err = fmt.Errorf("alert log: rotate: %w", e)
	}
	for i := s.keep - 1; i >= 0 && err == nil; i-- {
		if e := os.Rename(name(i), name(i+1)); e != nil && !errors.Is(e, os.ErrNotExist) {
			err = fmt.Errorf("alert log: rotate: %w", e)
		}
	}
	return errors.Join(err, s.open())
}

// Close closes the file; later writes fail with ErrClosed.
func (s *FileSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
