package spool

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
)

const (
	headerSize = 16

	// MaxPayload is the largest payload a record may carry.
	MaxPayload = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errDamaged reports a record that is not valid where one should be.
var errDamaged = errors.New("damaged record")

// header is a decoded record header.
type header struct {
	n   uint32 // payload length
	sum uint32
	seq uint64
}

func parseHeader(b []byte) header {
	return header{
		n:   binary.LittleEndian.Uint32(b[0:]),
		sum: binary.LittleEndian.Uint32(b[4:]),
		seq: binary.LittleEndian.Uint64(b[8:]),
	}
}

// checksum is the CRC-32C of a record's length, sequence number and payload.
func checksum(h []byte, payload []byte) uint32 {
	c := crc32.Update(0, castagnoli, h[0:4])
	c = crc32.Update(c, castagnoli, h[8:16])
	return crc32.Update(c, castagnoli, payload)
}

// appendRecord appends the encoding of one record to dst.
func appendRecord(dst []byte, seq uint64, payload []byte) []byte {
	var h [headerSize]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(len(payload)))
	binary.LittleEndian.PutUint64(h[8:], seq)
	binary.LittleEndian.PutUint32(h[4:], checksum(h[:], payload))
	return append(append(dst, h[:]...), payload...)
}

// check validates a header found at off in a segment whose records end at
// end, with prev the sequence number of the record before it.
func (h header) check(off, end int64, prev uint64) error {
	if h.n > MaxPayload || int64(h.n) > end-off-headerSize || h.seq <= prev {
		return errDamaged
	}
	return nil
}

// scanned is what scanSegment found in a segment.
type scanned struct {
	end         int64 // just past the last valid record
	n           int   // valid records
	first, last uint64
	ackOff      int64 // first record above the acknowledgement mark, or end
	ackN        int   // records before ackOff
}

// scanSegment reads the records of a segment of size bytes from r in order
// and stops at the first invalid one: cut short by the end of the data,
// longer than MaxPayload, failing its checksum, or not numbered above its
// predecessor (prev for the first record). Bytes from end to size are
// damage. acked is the acknowledgement mark, for ackOff and ackN. Only read
// errors are returned.
func scanSegment(r io.Reader, size int64, prev, acked uint64) (scanned, error) {
	var (
		s   scanned
		h   [headerSize]byte
		buf []byte
	)
	s.ackOff = -1
	for {
		if size-s.end < headerSize {
			break
		}
		if _, err := io.ReadFull(r, h[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break // the file was shorter than its size said
			}
			return s, err
		}
		hd := parseHeader(h[:])
		if hd.check(s.end, size, prev) != nil {
			break
		}
		if cap(buf) < int(hd.n) {
			buf = make([]byte, hd.n)
		}
		payload := buf[:hd.n]
		if _, err := io.ReadFull(r, payload); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			return s, err
		}
		if checksum(h[:], payload) != hd.sum {
			break
		}
		if s.n == 0 {
			s.first = hd.seq
		}
		if s.ackOff < 0 && hd.seq > acked {
			s.ackOff, s.ackN = s.end, s.n
		}
		s.n++
		s.last, prev = hd.seq, hd.seq
		s.end += headerSize + int64(hd.n)
	}
	if s.ackOff < 0 {
		s.ackOff, s.ackN = s.end, s.n
	}
	return s, nil
}
