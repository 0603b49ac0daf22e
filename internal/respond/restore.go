package respond

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Restore puts the quarantined file id back at its original path with its
// original mode, owner and modification time, after checking that its
// content still has the recorded SHA-256. It refuses (ErrExists) when
// something now exists at the original path, and never replaces it: the
// final step is a rename that fails if the name is taken. The original
// directory must still exist.
//
// Restore is an operator's undo, not a rule action; a dry-run Responder
// checks the entry and returns ErrDryRun.
func (r *Responder) Restore(id string) error {
	if !validID(id) {
		return fmt.Errorf("restore %q: %w", id, ErrNotFound)
	}
	q, err := readSidecar(r.qdir, id)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := r.checkTarget(q.OriginalPath); err != nil {
		return fmt.Errorf("restore %s: %w", id, err)
	}
	if _, err := os.Lstat(q.OriginalPath); err == nil {
		return fmt.Errorf("restore %s: %s: %w", id, q.OriginalPath, ErrExists)
	} else if !os.IsNotExist(err) {
		return fmt.Errorf("restore %s: %w", id, err)
	}
	stored := filepath.Join(r.qdir, id)
	f, st, err := openRegular(stored)
	if err != nil {
		return fmt.Errorf("restore %s: %w", id, err)
	}
	defer f.Close()
	if r.dryRun {
		return fmt.Errorf("restore %s: would put it back at %s: %w", id, q.OriginalPath, ErrDryRun)
	}
	var parent unix.Stat_t
	if err := unix.Stat(filepath.Dir(q.OriginalPath), &parent); err != nil {
		return fmt.Errorf("restore %s: original directory: %w", id, err)
	}
	if st.Dev == parent.Dev {
		err = restoreRename(f, q, stored)
	} else {
		err = restoreCopy(f, q, stored)
	}
	if err != nil {
		return fmt.Errorf("restore %s to %s: %w", id, q.OriginalPath, err)
	}
	syncDir(filepath.Dir(q.OriginalPath))
	if err := os.Remove(filepath.Join(r.qdir, id+".json")); err != nil {
		return fmt.Errorf("restore %s: remove sidecar: %w", id, err)
	}
	syncDir(r.qdir)
	return nil
}

// checkSum verifies that f's content matches q.
func checkSum(f *os.File, q Quarantined) error {
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("hash: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != q.SHA256 {
		return fmt.Errorf("%w: content sha256 %s, sidecar says %s", ErrCorrupt, got, q.SHA256)
	}
	return nil
}

// setAttrs gives the file at name its original owner, mode and mtime.
// Ownership goes first: chown clears setuid and setgid bits.
func setAttrs(name string, q Quarantined) error {
	if err := os.Lchown(name, int(q.UID), int(q.GID)); err != nil {
		return fmt.Errorf("owner: %w", err)
	}
	if err := os.Chmod(name, os.FileMode(q.Mode&0o777)|modeBits(q.Mode)); err != nil {
		return fmt.Errorf("mode: %w", err)
	}
	if !q.ModTime.IsZero() {
		if err := os.Chtimes(name, q.ModTime, q.ModTime); err != nil {
			return fmt.Errorf("mtime: %w", err)
		}
	}
	return nil
}

// modeBits converts setuid, setgid and sticky from st_mode to os.FileMode.
func modeBits(m uint32) os.FileMode {
	var fm os.FileMode
	if m&unix.S_ISUID != 0 {
		fm |= os.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		fm |= os.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		fm |= os.ModeSticky
	}
	return fm
}

// placeNoReplace renames src to dst unless dst exists.
func placeNoReplace(src, dst string) error {
	err := unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) {
		// The file system lacks RENAME_NOREPLACE: link is exclusive too.
		if err = os.Link(src, dst); err == nil {
			return os.Remove(src)
		}
	}
	if errors.Is(err, unix.EEXIST) || errors.Is(err, os.ErrExist) {
		return ErrExists
	}
	if err != nil {
		return fmt.Errorf("rename: %w", err)
	}
	return nil
}

// restoreRename verifies the stored file, gives it its attributes back and
// renames it into place; on failure it is quarantined-safe again.
func restoreRename(f *os.File, q Quarantined, stored string) error {
	if err := checkSum(f, q); err != nil {
		return err
	}
	if err := setAttrs(stored, q); err != nil {
		os.Chmod(stored, storedMode(q.Mode))
		return err
	}
	if err := placeNoReplace(stored, q.OriginalPath); err != nil {
		os.Chmod(stored, storedMode(q.Mode))
		return err
	}
	return nil
}

// restoreCopy copies the stored file next to the original path, verifies
// and completes it there, renames it into place and drops the stored copy.
func restoreCopy(f *os.File, q Quarantined, stored string) error {
	id, err := newID()
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(q.OriginalPath), ".vigil-restore-"+id)
	sum, _, err := copyNew(tmp, f, 0o600)
	if err != nil {
		return err
	}
	if sum != q.SHA256 {
		os.Remove(tmp)
		return fmt.Errorf("%w: content sha256 %s, sidecar says %s", ErrCorrupt, sum, q.SHA256)
	}
	if err := setAttrs(tmp, q); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := placeNoReplace(tmp, q.OriginalPath); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Remove(stored); err != nil {
		return fmt.Errorf("remove stored copy: %w", err)
	}
	return nil
}
