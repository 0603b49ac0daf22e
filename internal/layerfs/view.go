package layerfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
)

// view is the read-only filesystem of layers 0..i. It holds only the root
// of a shared tree, so making one costs nothing; it is safe for concurrent
// use.
type view struct {
	img  *Image
	root *node // nil for an out-of-range layer
}

// View interfaces.
var (
	_ fs.ReadDirFS   = (*view)(nil)
	_ fs.StatFS      = (*view)(nil)
	_ fs.ReadFileFS  = (*view)(nil)
	_ fs.ReadLinkFS  = (*view)(nil)
	_ fs.ReadDirFile = (*dirFile)(nil)
	_ io.ReaderAt    = (*regFile)(nil)
	_ io.Seeker      = (*regFile)(nil)
)

var errNoLayer = fmt.Errorf("%w: no such layer", fs.ErrInvalid)

// lookup resolves name within the view's root.
func (v *view) lookup(op, name string, follow bool) (*node, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if v.root == nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: errNoLayer}
	}
	_, n, err := walk(v.root, name, walkOpts{follow: follow, maxLinks: v.img.lim.MaxSymlinkDepth})
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	return n, nil
}

func info(n *node, name string) fileInfo {
	return fileInfo{n: n, name: path.Base(name)}
}

// Open opens the named file, following symlinks within the root. A
// regular file whose content was not retained, a device or a fifo gives
// an error wrapping ErrNotRetained.
func (v *view) Open(name string) (fs.File, error) {
	n, err := v.lookup("open", name, true)
	if err != nil {
		return nil, err
	}
	switch n.kind {
	case kindDir:
		return &dirFile{fi: info(n, name)}, nil
	case kindReg:
		b, ok := v.img.blob(n.blob)
		if !ok {
			return nil, &fs.PathError{Op: "open", Path: name, Err: ErrNotRetained}
		}
		return &regFile{fi: info(n, name), r: io.NewSectionReader(b.f, b.off, b.size)}, nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w: %s", ErrNotRetained, kindName(n.kind))}
}

// Stat describes the named file, following symlinks.
func (v *view) Stat(name string) (fs.FileInfo, error) {
	n, err := v.lookup("stat", name, true)
	if err != nil {
		return nil, err
	}
	return info(n, name), nil
}

// Lstat describes the named file without following a final symlink.
func (v *view) Lstat(name string) (fs.FileInfo, error) {
	n, err := v.lookup("lstat", name, false)
	if err != nil {
		return nil, err
	}
	return info(n, name), nil
}

// ReadLink returns the target of the named symlink as stored in the layer.
func (v *view) ReadLink(name string) (string, error) {
	n, err := v.lookup("readlink", name, false)
	if err != nil {
		return "", err
	}
	if n.kind != kindSymlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return n.target(), nil
}

// ReadDir lists the named directory, sorted by name.
func (v *view) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := v.lookup("readdir", name, true)
	if err != nil {
		return nil, err
	}
	if n.kind != kindDir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: ErrNotDir}
	}
	return dirEntries(n.ext.kids), nil
}

func dirEntries(kids []*node) []fs.DirEntry {
	out := make([]fs.DirEntry, len(kids))
	for i, k := range kids {
		out[i] = fileInfo{n: k, name: k.name}
	}
	return out
}

// ReadFile returns the retained content of the named file.
func (v *view) ReadFile(name string) ([]byte, error) {
	f, err := v.Open(name)
	if err != nil {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: errors.Unwrap(err)}
	}
	defer f.Close()
	r, ok := f.(*regFile)
	if !ok {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: fmt.Errorf("%w: is a directory", fs.ErrInvalid)}
	}
	buf := make([]byte, r.r.Size())
	if _, err := r.r.ReadAt(buf, 0); err != nil && err != io.EOF {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: err}
	}
	return buf, nil
}

// dirFile is an open directory.
type dirFile struct {
	fi     fileInfo
	off    int
	closed bool
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.fi, nil }
func (d *dirFile) Close() error               { d.closed = true; return nil }
func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.fi.name, Err: fmt.Errorf("%w: is a directory", fs.ErrInvalid)}
}

func (d *dirFile) ReadDir(count int) ([]fs.DirEntry, error) {
	if d.closed {
		return nil, &fs.PathError{Op: "readdir", Path: d.fi.name, Err: fs.ErrClosed}
	}
	kids := d.fi.n.ext.kids[d.off:]
	if count > 0 {
		if len(kids) == 0 {
			return nil, io.EOF
		}
		kids = kids[:min(count, len(kids))]
	}
	d.off += len(kids)
	return dirEntries(kids), nil
}

// regFile is an open retained regular file.
type regFile struct {
	fi     fileInfo
	r      *io.SectionReader
	closed bool
}

func (f *regFile) Stat() (fs.FileInfo, error) { return f.fi, nil }
func (f *regFile) Close() error               { f.closed = true; return nil }

func (f *regFile) Read(p []byte) (int, error) {
	if f.closed {
		return 0, &fs.PathError{Op: "read", Path: f.fi.name, Err: fs.ErrClosed}
	}
	return f.r.Read(p)
}

func (f *regFile) ReadAt(p []byte, off int64) (int, error) {
	if f.closed {
		return 0, &fs.PathError{Op: "read", Path: f.fi.name, Err: fs.ErrClosed}
	}
	return f.r.ReadAt(p, off)
}

func (f *regFile) Seek(off int64, whence int) (int64, error) {
	if f.closed {
		return 0, &fs.PathError{Op: "seek", Path: f.fi.name, Err: fs.ErrClosed}
	}
	return f.r.Seek(off, whence)
}
