package inventory

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/google/osv-scalibr/extractor"
	"github.com/google/osv-scalibr/extractor/filesystem"
	scalibrfs "github.com/google/osv-scalibr/fs"
)

// OS package databases are checked around their SCALIBR extractor, for the
// damage those parsers do not survive or do not report. Before: rpm's
// Berkeley DB and ndb readers (go-rpmdb) index, allocate and follow page
// chains from the file's numbers in a goroutine of their own, where a
// panic cannot be recovered and kills the process, a bad overflow chain
// spins until SCALIBR's five-minute timeout, and a blob length allocates
// up to 4 GiB; such files are refused. After: the dpkg and apk text
// databases are read leniently, so a file cut short (not ending in a
// newline) or one with no readable stanza at all is reported, not taken
// for a complete or empty database.

// maxErrText bounds an Unknown's error text; parsers quote the offending
// input, which may be a whole line of binary junk.
const maxErrText = 1024

func errText(err error) string {
	s := err.Error()
	if len(s) > maxErrText {
		s = s[:maxErrText] + "…"
	}
	return s
}

// runChecked runs extractor x on c between the checks for its format.
func (e *Engine) runChecked(ctx context.Context, x filesystem.Extractor, sfs scalibrfs.FS, root string, c candidate) ([]*extractor.Package, error) {
	switch x.Name() {
	case "os/rpm":
		if err := withReaderAt(sfs, c, e.opts.MaxFileSize, checkRPMDB); err != nil {
			return nil, err
		}
	}
	pkgs, err := e.runExtractor(ctx, x, sfs, root, c)
	if err != nil && x.Name() == "javascript/packagejson" {
		if fb, fbErr := packageJSONFallback(sfs, c); fbErr == nil {
			return fb, nil
		}
	}
	if err != nil {
		return pkgs, err
	}
	switch x.Name() {
	case "os/dpkg", "os/apk":
		err = withReaderAt(sfs, c, e.opts.MaxFileSize, func(r io.ReaderAt, size int64) error {
			return checkTextDB(r, size, len(pkgs))
		})
	}
	return pkgs, err
}

// withReaderAt opens c again and hands it to check as an io.ReaderAt,
// reading it into memory (at most limit bytes) if the file is not one.
func withReaderAt(sfs scalibrfs.FS, c candidate, limit int64, check func(io.ReaderAt, int64) error) error {
	f, err := sfs.Open(c.name)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer f.Close()
	size := c.info.Size()
	ra, ok := f.(io.ReaderAt)
	if !ok {
		data, err := io.ReadAll(io.LimitReader(f, limit))
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		ra, size = bytes.NewReader(data), int64(len(data))
	}
	return check(ra, size)
}

// checkTextDB reports a dpkg status or apk installed file that was cut
// short, or from which nothing was read although it is not blank. A dpkg
// status whose stanzas are all not-installed legitimately yields nothing;
// it has Status lines, which junk has not.
func checkTextDB(r io.ReaderAt, size int64, npkgs int) error {
	if size == 0 {
		return nil
	}
	var last [1]byte
	if _, err := r.ReadAt(last[:], size-1); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if last[0] != '\n' {
		return errors.New("database truncated: it does not end with a newline")
	}
	if npkgs > 0 {
		return nil
	}
	data, err := io.ReadAll(io.NewSectionReader(r, 0, size))
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 || bytes.HasPrefix(data, []byte("Status:")) || bytes.Contains(data, []byte("\nStatus:")) {
		return nil
	}
	return errors.New("no package could be read from a non-empty database")
}

// checkRPMDB refuses the rpm databases go-rpmdb cannot read safely. Like
// go-rpmdb, it tells the format by content: SQLite (left to SQLite's own
// checks), ndb, or else Berkeley DB.
func checkRPMDB(r io.ReaderAt, size int64) error {
	var head [32]byte
	if _, err := r.ReadAt(head[:], 0); err != nil {
		return nil // too short for any format; go-rpmdb reports it
	}
	le := binary.LittleEndian
	switch {
	case string(head[:16]) == "SQLite format 3\x00":
		return nil
	case string(head[:4]) == "RpmP" && le.Uint32(head[4:]) == 0 && le.Uint32(head[12:]) != 0:
		return checkNDB(r, size, le.Uint32(head[12:]))
	}
	return checkBDB(r, size)
}

// errBadRPMDB prefixes the reasons checkRPMDB refuses a file.
var errBadRPMDB = errors.New("malformed rpm database")

// checkNDB checks an ndb Packages.db's slots and blob heads (see rpm's
// lib/backend/ndb/rpmpkg.c): every used slot's blob lies in the file, has
// its head, and blobs together are no larger than the file.
func checkNDB(r io.ReaderAt, size int64, slotPages uint32) error {
	const page, slot, blk = 4096, 16, 16
	if slotPages > 2048 || int64(slotPages)*page > size {
		return fmt.Errorf("%w: ndb: %d slot pages in %d bytes", errBadRPMDB, slotPages, size)
	}
	slots := make([]byte, int64(slotPages)*page)
	if _, err := r.ReadAt(slots, 0); err != nil {
		return fmt.Errorf("%w: ndb: %v", errBadRPMDB, err)
	}
	le := binary.LittleEndian
	var total int64
	for off := 32; off < len(slots); off += slot {
		s := slots[off : off+slot]
		if string(s[:4]) != "Slot" {
			return fmt.Errorf("%w: ndb: bad slot magic at offset %d", errBadRPMDB, off)
		}
		idx, blkoff := le.Uint32(s[4:]), int64(le.Uint32(s[8:]))
		if idx == 0 {
			continue
		}
		var bh [16]byte
		if _, err := r.ReadAt(bh[:], blkoff*blk); err != nil {
			return fmt.Errorf("%w: ndb: blob of package %d: %v", errBadRPMDB, idx, err)
		}
		n := int64(le.Uint32(bh[12:]))
		total += n
		if string(bh[:4]) != "BlbS" || le.Uint32(bh[4:]) != idx || blkoff*blk+16+n > size || total > size {
			return fmt.Errorf("%w: ndb: bad blob for package %d", errBadRPMDB, idx)
		}
		if err := checkHeaderBlob(io.NewSectionReader(r, blkoff*blk+16, n), n); err != nil {
			return fmt.Errorf("%w: ndb: package %d: %v", errBadRPMDB, idx, err)
		}
	}
	return nil
}

// checkHeaderBlob checks that an rpm header blob's index count fits in it;
// go-rpmdb allocates 16 bytes per index entry before checking.
func checkHeaderBlob(r io.ReaderAt, n int64) error {
	var il [4]byte
	if _, err := r.ReadAt(il[:], 0); err != nil {
		return errors.New("header too short")
	}
	if c := int64(int32(binary.BigEndian.Uint32(il[:]))); c < 1 || 8+16*c > n {
		return fmt.Errorf("header index count %d does not fit its %d bytes", c, n)
	}
	return nil
}

// checkBDB walks a Berkeley DB hash Packages file the way go-rpmdb reads it
// and refuses what would make it panic or loop: value offsets outside
// their page, off-page items whose overflow chain leaves the file, meets a
// page that is not an overflow page, or revisits a page, and a last
// overflow page whose data length overruns it.
func checkBDB(r io.ReaderAt, size int64) error {
	meta := make([]byte, 72)
	if _, err := r.ReadAt(meta, 0); err != nil {
		return nil // go-rpmdb reports it
	}
	var bo binary.ByteOrder = binary.LittleEndian
	switch binary.LittleEndian.Uint32(meta[12:]) {
	case 0x00061561:
	case 0x61150600:
		bo = binary.BigEndian
	default:
		return nil // not a hash database: go-rpmdb refuses it
	}
	pageSize, last := int64(bo.Uint32(meta[20:])), int64(bo.Uint32(meta[32:]))
	if pageSize < 512 || pageSize > 65536 || pageSize&(pageSize-1) != 0 {
		return nil // go-rpmdb refuses it
	}
	if (last+1)*pageSize > size {
		return fmt.Errorf("%w: bdb: last page %d beyond the file's %d bytes", errBadRPMDB, last, size)
	}
	const hdr = 26 // page header size
	pg := make([]byte, pageSize)
	ov := make([]byte, pageSize)
	visited := map[int64]bool{}
	for p := int64(0); p <= last; p++ {
		if _, err := r.ReadAt(pg, p*pageSize); err != nil {
			return fmt.Errorf("%w: bdb: page %d: %v", errBadRPMDB, p, err)
		}
		if t := pg[25]; t != 2 && t != 13 { // only hash pages hold items
			continue
		}
		n := int64(bo.Uint16(pg[20:]))
		if n%2 != 0 || hdr+2*n > pageSize {
			continue // go-rpmdb reports it
		}
		for i := int64(1); i < n; i += 2 { // values are the odd entries
			v := int64(bo.Uint16(pg[hdr+2*i:]))
			if v >= pageSize {
				return fmt.Errorf("%w: bdb: page %d: item offset %d outside the page", errBadRPMDB, p, v)
			}
			if pg[v] != 3 { // only off-page items are read
				continue
			}
			if v+12 > pageSize || v+12 > 0xffff {
				return fmt.Errorf("%w: bdb: page %d: off-page item at %d overruns the page", errBadRPMDB, p, v)
			}
			first := true
			for cur := int64(bo.Uint32(pg[v+4:])); cur != 0; {
				if cur > last || visited[cur] {
					return fmt.Errorf("%w: bdb: overflow chain from page %d reaches page %d again or outside the file", errBadRPMDB, p, cur)
				}
				visited[cur] = true
				if _, err := r.ReadAt(ov, cur*pageSize); err != nil {
					return fmt.Errorf("%w: bdb: page %d: %v", errBadRPMDB, cur, err)
				}
				if ov[25] != 7 {
					return fmt.Errorf("%w: bdb: overflow chain from page %d reaches page %d of type %d", errBadRPMDB, p, cur, ov[25])
				}
				next := int64(bo.Uint32(ov[16:]))
				if free := int64(bo.Uint16(ov[22:])); next == 0 && (hdr+free > pageSize || hdr+free > 0xffff) {
					return fmt.Errorf("%w: bdb: overflow page %d: data length %d overruns the page", errBadRPMDB, cur, free)
				}
				if first {
					// The whole chain is at most the file.
					if err := checkHeaderBlob(bytes.NewReader(ov[hdr:]), size); err != nil {
						return fmt.Errorf("%w: bdb: page %d: %v", errBadRPMDB, p, err)
					}
					first = false
				}
				cur = next
			}
		}
	}
	return nil
}
