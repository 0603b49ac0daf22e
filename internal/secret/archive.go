package secret

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// maxArchiveMembers bounds the entries read from one archive (nested
// archives count against their own parent's budget, see budget).
const maxArchiveMembers = 100_000

// errBudget stops an archive that expands beyond DirOptions.MaxArchiveBytes.
var errBudget = errors.New("expands beyond the archive size limit (decompression bomb?), rest not scanned")

// archiveKind is what sniff recognised.
type archiveKind int

const (
	notArchive archiveKind = iota
	zipArchive
	tarArchive
	gzipStream
)

// sniffLen is how many leading bytes sniff wants (a tar header).
const sniffLen = 512

// sniff recognises zip (jar, war, apk, …), gzip and ustar/gnu tar by their
// magic bytes, never by name.
func sniff(head []byte) archiveKind {
	switch {
	case len(head) >= 4 && (string(head[:4]) == "PK\x03\x04" || string(head[:4]) == "PK\x05\x06"):
		return zipArchive
	case len(head) >= 3 && head[0] == 0x1f && head[1] == 0x8b && head[2] == 8:
		return gzipStream
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		return tarArchive
	}
	return notArchive
}

// budget is what one outermost archive may still expand to. An archive and
// everything nested in it is expanded by one goroutine, so it needs no lock.
type budget struct {
	left    int64
	members int
}

// budgetReader charges every byte read to a budget.
type budgetReader struct {
	r io.Reader
	b *budget
}

func (br *budgetReader) Read(p []byte) (int, error) {
	if br.b.left < 0 {
		return 0, errBudget
	}
	n, err := br.r.Read(p)
	br.b.left -= int64(n)
	if br.b.left < 0 {
		return n, errBudget
	}
	return n, err
}

// expander turns bytes into findings, opening archives on the way. The
// zero scan function is never used: ScanDir, ScanGit and ScanLayers set it
// to (*Scanner).Scan; the fuzz test sets a stub.
type expander struct {
	scan scanFunc
	o    DirOptions // normalised
	c    *collector
}

// member joins an archive path and a member name: "app.jar!/BOOT-INF/x.yml".
func member(archive, name string) string {
	return archive + "!/" + strings.TrimLeft(name, "/")
}

// scanBytes scans data found at loc. depth is the number of archive levels
// data is nested in; b is the outermost archive's budget, nil outside one.
func (e *expander) scanBytes(data []byte, loc Location, depth int, b *budget) {
	kind := sniff(data)
	if kind == notArchive || e.o.NoArchives {
		e.scanLeaf(data, loc)
		return
	}
	if depth >= e.o.MaxArchiveDepth {
		e.c.problem(loc, fmt.Sprintf("archive nested deeper than %d levels, not expanded", e.o.MaxArchiveDepth))
		e.scanLeaf(data, loc)
		return
	}
	if b == nil {
		b = &budget{left: e.o.MaxArchiveBytes}
	}
	var err error
	switch kind {
	case zipArchive:
		err = e.expandZip(bytes.NewReader(data), int64(len(data)), loc, depth+1, b)
	case tarArchive:
		err = e.expandTar(bytes.NewReader(data), loc, depth+1, b)
	case gzipStream:
		err = e.expandGzip(bytes.NewReader(data), loc, depth+1, b)
	}
	if err != nil {
		e.c.problem(loc, err.Error())
		if kind == zipArchive && isFormat(err) {
			// Not a zip after all (or a damaged one): its bytes still count.
			e.scanLeaf(data, loc)
		}
	}
}

func isFormat(err error) bool {
	return errors.Is(err, zip.ErrFormat) || errors.Is(err, zip.ErrAlgorithm)
}

func (e *expander) scanLeaf(data []byte, loc Location) {
	e.c.scanned(int64(len(data)), e.scan(data, loc))
}

// readMember reads r whole into memory, up to MaxFileSize bytes, charging
// the budget. A longer member is truncated and reported.
func (e *expander) readMember(r io.Reader, loc Location, b *budget) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(io.LimitReader(&budgetReader{r: r, b: b}, e.o.MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	data := buf.Bytes()
	if int64(len(data)) > e.o.MaxFileSize {
		e.c.problem(loc, fmt.Sprintf("larger than %d bytes: only the first %d scanned", e.o.MaxFileSize, e.o.MaxFileSize))
		data = data[:e.o.MaxFileSize]
	}
	return data, nil
}

// expandZip scans every file of a zip. depth is the level of the zip itself.
func (e *expander) expandZip(r io.ReaderAt, size int64, loc Location, depth int, b *budget) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return fmt.Errorf("open zip: %w", err)
	}
	for _, f := range zr.File {
		if !f.Mode().IsRegular() || strings.HasSuffix(f.Name, "/") {
			continue
		}
		if b.members++; b.members > maxArchiveMembers {
			return fmt.Errorf("more than %d members, rest not scanned", maxArchiveMembers)
		}
		mloc := loc
		mloc.Path = member(loc.Path, f.Name)
		rc, err := f.Open()
		if err != nil {
			e.c.problem(mloc, err.Error())
			continue
		}
		data, err := e.readMember(rc, mloc, b)
		_ = rc.Close()
		if errors.Is(err, errBudget) {
			return err
		}
		if err != nil {
			e.c.problem(mloc, err.Error())
			continue
		}
		e.scanBytes(data, mloc, depth, b)
		if b.left < 0 { // a nested archive spent the budget; it said so
			return nil
		}
	}
	return nil
}

// expandTar scans every regular file of a tar stream.
func (e *expander) expandTar(r io.Reader, loc Location, depth int, b *budget) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != '\x00' {
			continue
		}
		if b.members++; b.members > maxArchiveMembers {
			return fmt.Errorf("more than %d members, rest not scanned", maxArchiveMembers)
		}
		mloc := loc
		mloc.Path = member(loc.Path, path.Clean("/"+h.Name))
		data, err := e.readMember(tr, mloc, b)
		if err != nil {
			return fmt.Errorf("read tar member %s: %w", h.Name, err)
		}
		e.scanBytes(data, mloc, depth, b)
		if b.left < 0 { // a nested archive spent the budget; it said so
			return nil
		}
	}
}

// expandGzip scans a gzip stream: a tar inside is expanded at the same
// level (tar.gz is one archive), anything else is one member named after
// the stream's stored name or the archive's name without ".gz".
func (e *expander) expandGzip(r io.Reader, loc Location, depth int, b *budget) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("open gzip: %w", err)
	}
	defer gz.Close()
	br := bufio.NewReaderSize(&budgetReader{r: gz, b: b}, sniffLen)
	head, err := br.Peek(sniffLen)
	if err != nil && err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return fmt.Errorf("read gzip: %w", err)
	}
	if sniff(head) == tarArchive {
		return e.expandTar(br, loc, depth, b)
	}
	name := path.Base(gz.Name)
	if gz.Name == "" || name == "." || name == "/" {
		name = strings.TrimSuffix(path.Base(loc.Path), ".gz")
		if i := strings.LastIndex(name, "!/"); i >= 0 {
			name = name[i+2:]
		}
	}
	b.members++
	mloc := loc
	mloc.Path = member(loc.Path, name)
	data, err := e.readMember(br, mloc, b)
	if err != nil {
		return fmt.Errorf("read gzip: %w", err)
	}
	e.scanBytes(data, mloc, depth, b)
	return nil
}
