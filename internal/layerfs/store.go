package layerfs

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
)

// blob is the retained content of one file: a section of a data file.
type blob struct {
	f         *os.File
	off, size int64
}

// dataFile receives the retained contents of one layer, back to back, at
// offsets that never depend on entry names. In cache mode it is the cache
// file being written, hashed as it grows.
type dataFile struct {
	f      *os.File
	create func() (*os.File, error) // creates f on first use; nil in cache mode
	off    int64
	h      hash.Hash // cache mode: hash of every byte written
	blobs  []blob
}

func (d *dataFile) Write(p []byte) (int, error) {
	n, err := d.f.Write(p)
	if d.h != nil {
		d.h.Write(p[:n])
	}
	d.off += int64(n)
	if err != nil {
		return n, &fatalError{fmt.Errorf("write retained content: %w", err)}
	}
	return n, nil
}

// copy appends size bytes from r and returns the new blob's index in
// d.blobs. Errors reading r are returned as they are, errors writing as
// *fatalError.
func (d *dataFile) copy(r io.Reader, size int64) (int, error) {
	if d.f == nil {
		f, err := d.create()
		if err != nil {
			return 0, &fatalError{fmt.Errorf("create data file: %w", err)}
		}
		d.f = f
	}
	off := d.off
	if _, err := io.CopyN(d, r, size); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	d.blobs = append(d.blobs, blob{f: d.f, off: off, size: size})
	return len(d.blobs) - 1, nil
}

// discard closes and removes a data file that will not be used.
func (d *dataFile) discard() {
	if d.f != nil {
		name := d.f.Name()
		d.f.Close()
		os.Remove(name)
		d.f = nil
	}
}

// parseDigest splits a DiffID "sha256:<64 hex>" or "sha512:<128 hex>",
// lower-case hex only, and returns a hash for it. ok is false for anything
// else: such a DiffID is a label, never verified, cached or used in a path.
func parseDigest(diffID string) (alg, hexSum string, h hash.Hash, ok bool) {
	alg, hexSum, found := strings.Cut(diffID, ":")
	if !found {
		return "", "", nil, false
	}
	switch {
	case alg == "sha256" && len(hexSum) == 64:
		h = sha256.New()
	case alg == "sha512" && len(hexSum) == 128:
		h = sha512.New()
	default:
		return "", "", nil, false
	}
	for i := 0; i < len(hexSum); i++ {
		c := hexSum[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", "", nil, false
		}
	}
	return alg, hexSum, h, true
}

// checkDigest compares the hash of the stream with the DiffID.
func checkDigest(h hash.Hash, hexSum string) error {
	got := hex.EncodeToString(h.Sum(nil))
	if got != hexSum {
		return fmt.Errorf("%w: stream hashes to %s", ErrDigest, got)
	}
	return nil
}

var errCacheCorrupt = errors.New("corrupt cache entry")
