package advisory

import (
	"archive/zip"
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"sync/atomic"
)

// ReadOSVZip parses an OSV per-ecosystem export (all.zip: one JSON record
// per member) and calls fn once per .json/.yaml/.yml member, in archive
// order, with the record or an error naming the member; other members are
// skipped. If fn returns an error, ReadOSVZip stops and returns it.
//
// Bounds: an archive of more than 100,000 members is rejected before its
// directory is loaded; a member declaring more than 64 MiB is reported to fn
// without being decompressed, and a record over 16 MiB fails as in
// ParseOSV; decompressing more than 4 GiB in total ends the run with
// ErrTooLarge. Members are decompressed and parsed concurrently; fn is called
// from the calling goroutine, one call at a time.
func ReadOSVZip(r io.ReaderAt, size int64, fn func(Advisory, error) error) error {
	return readOSVZip(r, size, defaultZipLimits, fn)
}

// zipLimits are ReadOSVZip's bounds; tests shrink them.
type zipLimits struct {
	members       int
	member, total int64
}

var defaultZipLimits = zipLimits{members: maxZipMembers, member: maxZipMember, total: maxZipTotal}

func readOSVZip(r io.ReaderAt, size int64, lim zipLimits, fn func(Advisory, error) error) error {
	n, err := zipDirectoryCount(r, size, lim.members)
	if err != nil {
		return fmt.Errorf("read osv zip: %w", err)
	}
	if n > lim.members {
		return fmt.Errorf("read osv zip: %w: more than %d members", ErrTooLarge, lim.members)
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return fmt.Errorf("read osv zip: %w: %w", ErrFormat, err)
	}
	if len(zr.File) > lim.members {
		return fmt.Errorf("read osv zip: %w: more than %d members", ErrTooLarge, lim.members)
	}
	var files []*zip.File
	for _, f := range zr.File {
		if !f.FileInfo().IsDir() && isOSVName(f.Name) {
			files = append(files, f)
		}
	}
	var total atomic.Int64
	return parseOrdered(len(files), func(i int) (Advisory, error) {
		f := files[i]
		if f.UncompressedSize64 > uint64(lim.member) {
			return Advisory{}, fmt.Errorf("parse %s: %w: member declares %d bytes, limit %d",
				f.Name, ErrTooLarge, f.UncompressedSize64, lim.member)
		}
		rc, err := f.Open()
		if err != nil {
			return Advisory{}, fmt.Errorf("parse %s: %w", f.Name, err)
		}
		defer rc.Close()
		cr := &countingReader{r: io.LimitReader(rc, lim.member+1), total: &total}
		a, err := ParseOSV(cr, f.Name)
		if total.Load() > lim.total {
			return Advisory{}, fatalError{fmt.Errorf("read osv zip: %w: more than %d bytes decompressed", ErrTooLarge, lim.total)}
		}
		return a, err
	}, fn)
}

// countingReader adds the bytes read to a shared total.
type countingReader struct {
	r     io.Reader
	total *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.total.Add(int64(n))
	return n, err
}

// zipDirectoryCount counts the central directory headers archive/zip will
// load, without allocating per header, so that an archive with millions of
// members is refused before zip.NewReader builds a File for each. It finds
// the end-of-directory record the way archive/zip does and counts
// contiguous headers from both directory starts archive/zip may choose
// (the recorded offset, or the one implied by the directory's end), taking
// the larger count; it stops counting past the limit. Archives it cannot
// read are left to zip.NewReader to reject.
func zipDirectoryCount(r io.ReaderAt, size int64, limit int) (int, error) {
	const (
		eocdLen      = 22
		loc64Len     = 20
		eocd64Len    = 56
		dirHeaderLen = 46
	)
	if size < eocdLen {
		return 0, nil
	}
	var buf []byte
	var eocdOff int64 = -1
	for _, bl := range []int64{1024, 65 * 1024} {
		if bl > size {
			bl = size
		}
		buf = make([]byte, bl)
		if _, err := r.ReadAt(buf, size-bl); err != nil && err != io.EOF {
			return 0, err
		}
		for i := len(buf) - eocdLen; i >= 0; i-- {
			if buf[i] == 'P' && buf[i+1] == 'K' && buf[i+2] == 5 && buf[i+3] == 6 {
				n := int(binary.LittleEndian.Uint16(buf[i+eocdLen-2:]))
				if i+eocdLen+n > len(buf) {
					break
				}
				eocdOff = size - bl + int64(i)
				buf = buf[i:]
				break
			}
		}
		if eocdOff >= 0 || bl == size {
			break
		}
	}
	if eocdOff < 0 {
		return 0, nil
	}
	dirSize := uint64(binary.LittleEndian.Uint32(buf[12:]))
	dirOff := uint64(binary.LittleEndian.Uint32(buf[16:]))
	endOff := eocdOff
	if binary.LittleEndian.Uint16(buf[10:]) == 0xffff || dirSize == 0xffff || dirOff == 0xffffffff {
		if loc := eocdOff - loc64Len; loc >= 0 {
			lb := make([]byte, loc64Len)
			if _, err := r.ReadAt(lb, loc); err == nil &&
				binary.LittleEndian.Uint32(lb) == 0x07064b50 {
				p := int64(binary.LittleEndian.Uint64(lb[8:]))
				eb := make([]byte, eocd64Len)
				if p >= 0 && p < size {
					if _, err := r.ReadAt(eb, p); err == nil && binary.LittleEndian.Uint32(eb) == 0x06064b50 {
						dirSize = binary.LittleEndian.Uint64(eb[40:])
						dirOff = binary.LittleEndian.Uint64(eb[48:])
						endOff = p
					}
				}
			}
		}
	}
	count := func(off int64) int {
		br := bufio.NewReaderSize(io.NewSectionReader(r, off, size-off), 64<<10)
		h := make([]byte, dirHeaderLen)
		n := 0
		for n <= limit {
			if _, err := io.ReadFull(br, h); err != nil {
				break
			}
			if binary.LittleEndian.Uint32(h) != 0x02014b50 {
				break
			}
			skip := int(binary.LittleEndian.Uint16(h[28:])) +
				int(binary.LittleEndian.Uint16(h[30:])) +
				int(binary.LittleEndian.Uint16(h[32:]))
			if _, err := br.Discard(skip); err != nil {
				break
			}
			n++
		}
		return n
	}
	n := 0
	if dirOff < uint64(size) {
		n = count(int64(dirOff))
	}
	if dirSize <= uint64(endOff) && endOff-int64(dirSize) < size {
		if m := count(endOff - int64(dirSize)); m > n {
			n = m
		}
	}
	return n, nil
}
