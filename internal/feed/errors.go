package feed

import (
	"errors"
	"fmt"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrDigest marks a download whose SHA-256 is not the expected one
	// (Source.SHA256 or the value published at Source.DigestURL). The
	// downloaded bytes are discarded.
	ErrDigest = errors.New("digest mismatch")
	// ErrTooLarge marks a download over Options.MaxBytes (or a digest
	// sidecar over its small fixed limit). The partial file is discarded.
	ErrTooLarge = errors.New("download too large")
	// ErrSource marks an invalid Source (bad name, kind, URL or digest).
	ErrSource = errors.New("invalid source")
	// ErrProtocol marks a response that breaks HTTP range semantics in a
	// way that a restart cannot fix (a 206 to a request without Range, an
	// unparsable Content-Range, a body shorter than announced).
	ErrProtocol = errors.New("unexpected response")
)

// StatusError is returned for an HTTP status that is neither success nor
// one Fetch handles (304, 206, 416). Statuses 408, 425, 429 and 5xx are
// retried before it is returned.
type StatusError struct {
	URL  string // redacted of any password
	Code int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("GET %s: HTTP %d", e.URL, e.Code)
}

// Temporary reports whether the status is worth retrying.
func (e *StatusError) Temporary() bool {
	switch e.Code {
	case 408, 425, 429:
		return true
	}
	return e.Code >= 500
}
