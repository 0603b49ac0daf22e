package image

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/zstd"
)

// Layer is one filesystem layer of an Image, bottom first.
type Layer struct {
	// DiffID is the digest of the uncompressed layer tar ("sha256:…").
	DiffID string
	// Open returns the uncompressed tar stream of the layer. Whatever the
	// stored compression (none, gzip, zstd), the stream is decompressed on
	// the fly and never buffered whole. Its sha256 is checked against DiffID:
	// a mismatch is reported (as ErrCorrupt) by the Read that reaches the end
	// of the stream, or by Close when less than 1 MiB was left unread. Open
	// may be called any number of times, also concurrently.
	Open func() (io.ReadCloser, error)
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// drainOnClose bounds how much of an unread tail Close reads to check the
// digest; tar readers stop at the end-of-archive marker and leave padding.
const drainOnClose = 1 << 20

// openLayer makes Layer.Open for l. go-containerregistry decompresses the
// layers it knows to be compressed; a `docker save` archive whose first layer
// is plain but a later one compressed is still handed out raw, so the stream
// is sniffed again here.
func openLayer(l v1.Layer, diffID v1.Hash) func() (io.ReadCloser, error) {
	return openStream(l.Uncompressed, diffID)
}

// openStream is openLayer for any source of the stored layer stream.
func openStream(open func() (io.ReadCloser, error), diffID v1.Hash) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		rc, err := open()
		if err != nil {
			return nil, fmt.Errorf("open layer %s: %w", diffID, err)
		}
		r, err := decompress(rc)
		if err != nil {
			rc.Close()
			return nil, corruptf("layer %s: %w", diffID, err)
		}
		h, err := v1.Hasher(diffID.Algorithm)
		if err != nil {
			rc.Close()
			return nil, corruptf("layer %s: %w", diffID, err)
		}
		return &verifyReader{r: r, closer: rc, h: h, want: diffID}, nil
	}
}

// decompress returns r unchanged if it is a plain stream, or a decompressing
// reader for gzip and zstd streams. The caller keeps closing the source.
func decompress(src io.Reader) (io.Reader, error) {
	br := bufio.NewReader(src)
	head, err := br.Peek(len(zstdMagic))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, nil
	case bytes.HasPrefix(head, zstdMagic):
		// One goroutine and a bounded window keep memory per stream small
		// whatever the frame header claims.
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(1<<27))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return zstdReader{zr}, nil
	}
	return br, nil
}

// zstdReader adapts *zstd.Decoder, whose Close releases its resources.
type zstdReader struct{ d *zstd.Decoder }

func (z zstdReader) Read(p []byte) (int, error) { return z.d.Read(p) }
func (z zstdReader) Close() error               { z.d.Close(); return nil }

// verifyReader hashes what it reads and checks the digest at EOF.
type verifyReader struct {
	r      io.Reader
	closer io.Closer
	h      hash.Hash
	want   v1.Hash
	done   bool  // EOF seen and checked
	err    error // sticky verification error
}

func (v *verifyReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	if errors.Is(err, io.EOF) {
		v.done = true
		if verr := v.check(); verr != nil {
			v.err = verr
			return n, verr
		}
	}
	return n, err
}

func (v *verifyReader) check() error {
	got := v.want.Algorithm + ":" + hex.EncodeToString(v.h.Sum(nil))
	if got != v.want.String() {
		return corruptf("layer content has digest %s, want %s", got, v.want)
	}
	return nil
}

// Close releases the stream. If the reader stopped short of EOF by less
// than drainOnClose bytes, the tail is read so the digest is still checked.
func (v *verifyReader) Close() error {
	if v.err == nil && !v.done {
		// Sets v.err on a digest mismatch; other read errors in a tail the
		// caller did not want are of no interest.
		_, _ = io.CopyN(io.Discard, v, drainOnClose)
	}
	if c, ok := v.r.(io.Closer); ok {
		c.Close()
	}
	cerr := v.closer.Close()
	if v.err != nil {
		return v.err
	}
	return cerr
}
