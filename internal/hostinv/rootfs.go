package hostinv

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

// maxSymlinks bounds the symbolic links followed while resolving one path,
// as the kernel does (ELOOP after 40).
const maxSymlinks = 40

// errSymlinkLoop reports a path whose resolution needs too many links.
var errSymlinkLoop = errors.New("too many levels of symbolic links")

// rootFS reads files below a root directory as if the root were "/":
// absolute symbolic links resolve against the root and ".." stops at it.
// All access goes through an [os.Root], so nothing outside can be reached
// even if the tree changes while it is read.
type rootFS struct {
	root    *os.Root
	maxFile int64
}

func openRootFS(dir string, maxFile int64) (*rootFS, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &rootFS{root: r, maxFile: maxFile}, nil
}

func (f *rootFS) close() { f.root.Close() }

// splitPath returns the non-empty elements of a slash-separated path.
func splitPath(p string) []string {
	return strings.FieldsFunc(p, func(r rune) bool { return r == '/' })
}

// resolve returns name with every symbolic link resolved inside the root, as
// a clean relative path ("." for the root itself). The final element need
// not exist.
func (f *rootFS) resolve(name string) (string, error) {
	todo := splitPath(name)
	var done []string
	links := 0
	for len(todo) > 0 {
		elem := todo[0]
		todo = todo[1:]
		switch elem {
		case ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		cur := path.Join(append(done, elem)...)
		fi, err := f.root.Lstat(cur)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && len(todo) == 0 {
				return cur, nil
			}
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = append(done, elem)
			continue
		}
		if links++; links > maxSymlinks {
			return "", errSymlinkLoop
		}
		target, err := f.root.Readlink(cur)
		if err != nil {
			return "", err
		}
		if path.IsAbs(target) {
			done = done[:0]
		}
		todo = append(splitPath(target), todo...)
	}
	if len(done) == 0 {
		return ".", nil
	}
	return path.Join(done...), nil
}

// readFile returns the content of the regular file name, at most maxFile
// bytes; a larger file is an error wrapping [ErrFileTooLarge].
func (f *rootFS) readFile(name string) ([]byte, error) {
	p, err := f.resolve(name)
	if err != nil {
		return nil, err
	}
	file, err := f.root.Open(p)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	return readLimited(file, f.maxFile)
}

// readLimited reads r to the end, failing with [ErrFileTooLarge] past limit
// bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes", ErrFileTooLarge, limit)
	}
	return data, nil
}

// dirEntry is one entry of a directory listing.
type dirEntry struct {
	name string
	mode fs.FileMode // type bits of the entry itself (not followed)
}

// readDir lists the directory name (links resolved), sorted by name, at
// most max entries; truncated says whether entries were dropped.
func (f *rootFS) readDir(name string, max int) (entries []dirEntry, truncated bool, err error) {
	p, err := f.resolve(name)
	if err != nil {
		return nil, false, err
	}
	dir, err := f.root.Open(p)
	if err != nil {
		return nil, false, err
	}
	defer dir.Close()
	// Read every name (cheap) so that the kept subset does not depend on
	// directory order, then keep the first max by name.
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return nil, false, err
	}
	sort.Strings(names)
	if len(names) > max {
		names, truncated = names[:max], true
	}
	for _, n := range names {
		fi, err := f.root.Lstat(path.Join(p, n))
		if err != nil {
			continue // removed meanwhile
		}
		entries = append(entries, dirEntry{name: n, mode: fi.Mode().Type()})
	}
	return entries, truncated, nil
}

// stat returns the file information of name with links resolved.
func (f *rootFS) stat(name string) (fs.FileInfo, error) {
	p, err := f.resolve(name)
	if err != nil {
		return nil, err
	}
	return f.root.Stat(p)
}

// readlink returns the target of the symbolic link name, whose parent
// directories are resolved first.
func (f *rootFS) readlink(name string) (string, error) {
	dir, base := path.Split(path.Clean(name))
	p, err := f.resolve(dir)
	if err != nil {
		return "", err
	}
	return f.root.Readlink(path.Join(p, base))
}

// displayPath shows a path below the root as the machine sees it.
func displayPath(name string) string {
	return path.Clean("/" + name)
}

// rootPath turns a path as the machine sees it into one below the root.
func rootPath(p string) string {
	return strings.TrimPrefix(path.Clean("/"+p), "/")
}
