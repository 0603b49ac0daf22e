package vulndb

import (
	"bytes"
	"encoding/json"

	"github.com/klauspost/compress/zstd"
)

// A blob is the JSON of a value, stored as is or, when that saves enough,
// as one zstd frame of it. Readers tell the two apart by the zstd magic
// number: JSON never starts with byte 0x28.

// zstdMagic starts every zstd frame.
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

const (
	// compressOver is the smallest JSON worth compressing.
	compressOver = 384
	// maxBlob bounds a decompressed blob: no advisory comes near it, and a
	// damaged or hostile file cannot make a reader allocate more.
	maxBlob = 16 << 20
)

// blobEncoder turns values into blobs. Not safe for concurrent use.
type blobEncoder struct {
	zw   *zstd.Encoder
	buf  bytes.Buffer
	zbuf []byte
}

func newBlobEncoder() (*blobEncoder, error) {
	zw, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(false), // SQLite pages carry no checksum either; JSON decoding catches damage
	)
	if err != nil {
		return nil, err
	}
	return &blobEncoder{zw: zw}, nil
}

// encode returns v's blob; it is valid until the next call.
func (e *blobEncoder) encode(v any) ([]byte, error) {
	e.buf.Reset()
	enc := json.NewEncoder(&e.buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	raw := bytes.TrimSuffix(e.buf.Bytes(), []byte("\n"))
	if len(raw) < compressOver {
		return raw, nil
	}
	z := e.zw.EncodeAll(raw, e.zbuf[:0])
	e.zbuf = z
	if len(z) > len(raw)*9/10 {
		return raw, nil
	}
	return z, nil
}

func (e *blobEncoder) close() error { return e.zw.Close() }

// blobDecoder reads blobs. Safe for concurrent use.
type blobDecoder struct {
	zr *zstd.Decoder
}

func newBlobDecoder(concurrency int) (*blobDecoder, error) {
	zr, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(concurrency),
		zstd.WithDecoderMaxMemory(maxBlob),
		zstd.WithDecoderMaxWindow(maxBlob),
	)
	if err != nil {
		return nil, err
	}
	return &blobDecoder{zr: zr}, nil
}

// decode unmarshals blob into v; a blob that does not decode is corrupt.
func (d *blobDecoder) decode(blob []byte, v any) error {
	if bytes.HasPrefix(blob, zstdMagic) {
		raw, err := d.zr.DecodeAll(blob, nil)
		if err != nil {
			return corruptf("decompress record: %w", err)
		}
		blob = raw
	}
	if err := json.Unmarshal(blob, v); err != nil {
		return corruptf("decode record: %w", err)
	}
	return nil
}

func (d *blobDecoder) close() { d.zr.Close() }
