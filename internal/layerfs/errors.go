package layerfs

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// Sentinel errors. Problems and the errors returned by views wrap them, so
// callers test with errors.Is.
var (
	// ErrNotRetained is returned when opening a regular file whose content
	// was not kept (Options.Retain did not select it, it was over a limit, or
	// it is a device or fifo, whose content is never kept).
	ErrNotRetained = errors.New("file content not retained")
	// ErrLimit marks an entry, file or layer that exceeded one of Limits.
	ErrLimit = errors.New("limit exceeded")
	// ErrEscape marks an entry name or hardlink target that climbs above
	// the image root.
	ErrEscape = errors.New("path escapes the image root")
	// ErrNotDir marks a path that needs a directory where a lower or the
	// same layer has something else.
	ErrNotDir = errors.New("not a directory")
	// ErrTooManyLinks is returned when resolving a path follows more than
	// Limits.MaxSymlinkDepth symbolic links (a loop or an over-long chain).
	ErrTooManyLinks = errors.New("too many levels of symbolic links")
	// ErrCorrupt marks a layer stream that is not a valid tar archive from
	// some point on (truncated, garbage, malformed headers).
	ErrCorrupt = errors.New("corrupt layer")
	// ErrDigest marks a layer stream whose digest is not its DiffID.
	ErrDigest = errors.New("layer digest mismatch")
	// ErrClosed is returned by AddLayer after Close.
	ErrClosed = errors.New("image closed")
)

// Problem is a failure confined to one entry or one layer. The image is
// still indexed as far as possible, but any Problem means the view is
// incomplete or differs from what a container runtime would build.
type Problem struct {
	Layer string // DiffID of the layer
	Path  string // entry path ("" for the whole layer)
	Err   error
}

func (p Problem) Error() string {
	if p.Path == "" {
		return fmt.Sprintf("layer %s: %v", p.Layer, p.Err)
	}
	return fmt.Sprintf("layer %s: %s: %v", p.Layer, p.Path, p.Err)
}

func (p Problem) Unwrap() error { return p.Err }

// problemKinds are the errors a cached Problem keeps its identity for
// (see codedError). The order is part of the cache format: append only.
var problemKinds = []error{
	ErrNotRetained, ErrLimit, ErrEscape, ErrNotDir, ErrTooManyLinks,
	ErrCorrupt, ErrDigest, fs.ErrNotExist, fs.ErrInvalid,
	io.ErrUnexpectedEOF, tar.ErrHeader, tar.ErrFieldTooLong,
}

func problemMask(err error) uint64 {
	var m uint64
	for i, k := range problemKinds {
		if errors.Is(err, k) {
			m |= 1 << i
		}
	}
	return m
}

// codedError is a Problem error read back from the layer cache: its message
// and the sentinels it wrapped when it was recorded.
type codedError struct {
	msg  string
	mask uint64
}

func (e *codedError) Error() string { return e.msg }

func (e *codedError) Unwrap() []error {
	var errs []error
	for i, k := range problemKinds {
		if e.mask&(1<<i) != 0 {
			errs = append(errs, k)
		}
	}
	return errs
}

// fatalError marks an error that must abort AddLayer (a temp file cannot
// be written), as opposed to a problem with the layer's content.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }
