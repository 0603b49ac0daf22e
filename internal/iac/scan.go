package iac

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Loader reads the resources of one family of formats out of a file set.
// Each loader picks the files it understands (by name and by content) and
// ignores the others; two loaders never claim the same file.
type Loader interface {
	// Name is the loader's name in errors and statistics.
	Name() string
	// Load returns the resources it found and the files it could not read.
	Load(ctx context.Context, in *Input) ([]Resource, []FileError)
}

// Input is the file set a scan hands to every loader.
type Input struct {
	// FS is the scanned tree; paths are slash-separated and relative.
	FS fs.FS
	// Files lists every regular file under the root that is not too big,
	// sorted, minus skipped directories (.git, .terraform, node_modules).
	Files []string
	// MaxFileSize bounds ReadFile.
	MaxFileSize int64
}

// ErrTooBig means a file is over the scan's size limit.
var ErrTooBig = errors.New("file too big")

// ReadFile reads a file of the set, refusing files over the size limit.
func (in *Input) ReadFile(name string) ([]byte, error) {
	f, err := in.FS.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	limit := in.MaxFileSize
	if limit <= 0 {
		limit = DefaultMaxFileSize
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes", ErrTooBig, limit)
	}
	return b, nil
}

// DefaultMaxFileSize is the largest file a scan reads: 8 MiB. IaC files are
// small; a bigger one is generated data or an attack.
const DefaultMaxFileSize = 8 << 20

// Options tune Scan. The zero value scans with the defaults.
type Options struct {
	MaxFileSize int64
	// Skip lists extra directory names to leave out.
	Skip []string
}

// skipDirs are never descended into.
var skipDirs = []string{".git", ".hg", ".svn", ".terraform", "node_modules", ".venv", "__pycache__"}

// Result is what a scan of a tree found.
type Result struct {
	Resources []Resource
	Errors    []FileError
	// Files is the number of files looked at.
	Files int
}

// Scan walks root (a directory, or a single file) and runs every loader
// over its files. A file one loader cannot read is reported and the scan
// goes on; only a root that cannot be walked at all is an error.
func Scan(ctx context.Context, root string, loaders []Loader, opts Options) (*Result, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return ScanFS(ctx, os.DirFS(root), loaders, opts)
	}
	// A single file: its directory is the tree, the file the only member.
	return scanFiles(ctx, os.DirFS(filepath.Dir(root)), []string{filepath.Base(root)}, loaders, opts)
}

// ScanFS is Scan over a file system.
func ScanFS(ctx context.Context, fsys fs.FS, loaders []Loader, opts Options) (*Result, error) {
	var files []string
	var walkErrs []FileError
	skip := append(slices.Clone(skipDirs), opts.Skip...)
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			walkErrs = append(walkErrs, FileError{File: p, Err: err})
			return nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if d.IsDir() {
			if p != "." && slices.Contains(skip, d.Name()) {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil // symlinks are not followed: they could leave the tree
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	res, err := scanFiles(ctx, fsys, files, loaders, opts)
	if err != nil {
		return nil, err
	}
	res.Errors = append(res.Errors, walkErrs...)
	sortErrors(res.Errors)
	return res, nil
}

func scanFiles(ctx context.Context, fsys fs.FS, files []string, loaders []Loader, opts Options) (*Result, error) {
	in := &Input{FS: fsys, MaxFileSize: opts.MaxFileSize}
	if in.MaxFileSize <= 0 {
		in.MaxFileSize = DefaultMaxFileSize
	}
	slices.Sort(files)
	in.Files = files
	res := &Result{Files: len(files)}
	for _, l := range loaders {
		rs, errs := l.Load(ctx, in)
		res.Resources = append(res.Resources, rs...)
		res.Errors = append(res.Errors, errs...)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	sortErrors(res.Errors)
	return res, nil
}

func sortErrors(errs []FileError) {
	slices.SortStableFunc(errs, func(a, b FileError) int { return strings.Compare(a.File, b.File) })
}
