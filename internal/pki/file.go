package pki

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// maxFileBytes bounds every PEM file read: a CA or agent identity file is a
// few kilobytes.
const maxFileBytes = 64 << 10

// readFile reads at most maxFileBytes of path; a longer file is an error.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxFileBytes)
	}
	return b, nil
}

// writeFile replaces path with data atomically: it writes a temporary file
// in the same directory with mode perm, syncs it, renames it over path and
// syncs the directory, so a crash leaves either the old or the new content.
func writeFile(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, true)
}

// createFile is writeFile for a file that must not exist yet: the complete
// file is linked into place, and if another process got there first the
// error wraps fs.ErrExist.
func createFile(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, false)
}

func write(path string, data []byte, perm os.FileMode, replace bool) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if replace {
		err = os.Rename(tmp, path)
	} else {
		err = os.Link(tmp, path)
		if err == nil || errors.Is(err, fs.ErrExist) {
			os.Remove(tmp)
		} else if _, serr := os.Lstat(path); serr == nil {
			err = fmt.Errorf("%s: %w", path, fs.ErrExist)
		} else {
			err = os.Rename(tmp, path) // a file system without hard links
		}
	}
	if err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
