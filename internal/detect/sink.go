package detect

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
)

// ErrClosed means a sink was written after Close.
var ErrClosed = errors.New("sink closed")

// JSONLog appends values as JSON lines to a file, mode 0600, and rotates
// it by size: when a line would take the file past maxBytes it becomes
// path.1 (path.1 becomes path.2 …) and at most keep old files are kept.
// A line longer than maxBytes is written alone into a fresh file: nothing
// is dropped for size. If shifting the old files fails the file is
// reopened all the same, so one failure does not end the log. It is safe
// for concurrent use.
type JSONLog struct {
	path     string
	maxBytes int64
	keep     int

	mu   sync.Mutex
	f    *os.File
	size int64
}

// NewJSONLog opens (or creates) the log at path. maxBytes <= 0 means 64
// MiB; keep < 0 means 0.
func NewJSONLog(path string, maxBytes int64, keep int) (*JSONLog, error) {
	if maxBytes <= 0 {
		maxBytes = 64 << 20
	}
	l := &JSONLog{path: path, maxBytes: maxBytes, keep: max(keep, 0)}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *JSONLog) open() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("alert log: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("alert log: %w", err)
	}
	l.f, l.size = f, info.Size()
	return nil
}

// Append writes v as one line.
func (l *JSONLog) Append(v any) error {
	line, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("alert log: encode: %w", err)
	}
	line = append(line, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return ErrClosed
	}
	var rotErr error
	if l.size > 0 && l.size+int64(len(line)) > l.maxBytes {
		if rotErr = l.rotate(); l.f == nil {
			return rotErr
		}
	}
	n, err := l.f.Write(line)
	l.size += int64(n)
	if err != nil {
		return errors.Join(rotErr, fmt.Errorf("alert log: %w", err))
	}
	return rotErr
}

// rotate shifts path.keep-1 → path.keep … path → path.1, dropping what
// falls past keep, and opens a fresh file.
func (l *JSONLog) rotate() error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("alert log: %w", err)
	}
	l.f = nil
	name := func(i int) string {
		if i == 0 {
			return l.path
		}
		return fmt.Sprintf("%s.%d", l.path, i)
	}
	var err error
	// With keep 0 the oldest is the current file itself.
	if e := os.Remove(name(l.keep)); e != nil && !errors.Is(e, os.ErrNotExist) {
		err = fmt.Errorf("alert log: rotate: %w", e)
	}
	for i := l.keep - 1; i >= 0 && err == nil; i-- {
		if e := os.Rename(name(i), name(i+1)); e != nil && !errors.Is(e, os.ErrNotExist) {
			err = fmt.Errorf("alert log: rotate: %w", e)
		}
	}
	return errors.Join(err, l.open())
}

// Close closes the file; later appends fail with ErrClosed.
func (l *JSONLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
