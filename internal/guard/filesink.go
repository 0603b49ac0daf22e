package guard

import "github.com/vigil-sec/vigil/internal/detect"

// ErrClosed means a sink was written after Close.
var ErrClosed = detect.ErrClosed

var _ Sink = (*FileSink)(nil)

// FileSink appends guard alerts (which carry the response record) to a
// size-rotated JSON-lines log: detect.JSONLog's format and rotation.
type FileSink struct{ *detect.JSONLog }

// NewFileSink opens (or creates) the log at path. maxBytes <= 0 means
// 64 MiB; keep < 0 means 0.
func NewFileSink(path string, maxBytes int64, keep int) (*FileSink, error) {
	l, err := detect.NewJSONLog(path, maxBytes, keep)
	if err != nil {
		return nil, err
	}
	return &FileSink{l}, nil
}

// Write appends one alert.
func (s *FileSink) Write(a *Alert) error { return s.Append(a) }
