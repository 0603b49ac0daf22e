package respond

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const oNoFollow = unix.O_NOFOLLOW

// forbidden are the trees whose entries are not files: quarantining from
// them would mean touching kernel state or devices.
var forbidden = []string{"/proc", "/sys", "/dev"}

// allowedUnder are exceptions inside the forbidden trees: /dev/shm is a
// tmpfs of ordinary files and a favourite drop zone for payloads, so it
// must be quarantinable (its entries are still required to be regular
// files).
var allowedUnder = []string{"/dev/shm"}

// allowedPath checks that p is absolute, clean and outside the forbidden
// trees.
func allowedPath(p string) error {
	if !filepath.IsAbs(p) || filepath.Clean(p) != p || p == "/" {
		return fmt.Errorf("%w: %q is not an absolute clean file path", ErrForbiddenPath, p)
	}
	for _, a := range allowedUnder {
		if p != a && within(p, a) {
			return nil
		}
	}
	for _, f := range forbidden {
		if within(p, f) {
			return fmt.Errorf("%w: %s is under %s", ErrForbiddenPath, p, f)
		}
	}
	return nil
}

// within says p is dir or below it (both clean).
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// checkTarget refuses a path that is forbidden as written, or once its
// directory's symbolic links are resolved, or that lies in the quarantine
// directory.
func (r *Responder) checkTarget(p string) error {
	if err := allowedPath(p); err != nil {
		return err
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(p))
	if err != nil {
		return fmt.Errorf("resolve %s: %w", filepath.Dir(p), err)
	}
	real := filepath.Join(dir, filepath.Base(p))
	if err := allowedPath(real); err != nil {
		return err
	}
	qdir := filepath.Clean(r.qdir)
	if q, err := filepath.EvalSymlinks(qdir); err == nil {
		qdir = q
	}
	if within(real, qdir) {
		return fmt.Errorf("%w: %s is in the quarantine directory", ErrForbiddenPath, p)
	}
	return nil
}

// openRegular opens p for reading without following a final symbolic link
// and without opening anything but a regular file: it takes an O_PATH
// handle, checks what it is, and only then reopens it for reading through
// /proc/self/fd, so a device or FIFO is never opened.
func openRegular(p string) (*os.File, unix.Stat_t, error) {
	var st unix.Stat_t
	h, err := unix.Open(p, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, st, fmt.Errorf("open %s: %w", p, err)
	}
	defer unix.Close(h)
	if err := unix.Fstat(h, &st); err != nil {
		return nil, st, fmt.Errorf("stat %s: %w", p, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, st, fmt.Errorf("%s: %w (%s)", p, ErrNotRegular, typeName(st.Mode))
	}
	f, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(h), os.O_RDONLY, 0)
	if err != nil {
		return nil, st, fmt.Errorf("reopen %s: %w", p, err)
	}
	return f, st, nil
}

func typeName(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return "directory"
	case unix.S_IFLNK:
		return "symbolic link"
	case unix.S_IFCHR:
		return "character device"
	case unix.S_IFBLK:
		return "block device"
	case unix.S_IFIFO:
		return "FIFO"
	case unix.S_IFSOCK:
		return "socket"
	}
	return "regular file"
}

// sameFile says p (not followed) is still the inode described by st.
func sameFile(p string, st *unix.Stat_t) bool {
	var now unix.Stat_t
	return unix.Lstat(p, &now) == nil && now.Dev == st.Dev && now.Ino == st.Ino
}

// ensureDir creates the quarantine directory 0700 if needed and checks it
// is a real directory owned by the responder's user.
func (r *Responder) ensureDir() (unix.Stat_t, error) {
	var st unix.Stat_t
	if err := os.MkdirAll(r.qdir, 0o700); err != nil {
		return st, fmt.Errorf("quarantine dir: %w", err)
	}
	if err := unix.Lstat(r.qdir, &st); err != nil {
		return st, fmt.Errorf("quarantine dir: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return st, fmt.Errorf("quarantine dir %s: not a directory", r.qdir)
	}
	if int(st.Uid) != os.Geteuid() {
		return st, fmt.Errorf("quarantine dir %s: owned by uid %d, not %d", r.qdir, st.Uid, os.Geteuid())
	}
	if st.Mode&0o7777 != 0o700 {
		if err := os.Chmod(r.qdir, 0o700); err != nil {
			return st, fmt.Errorf("quarantine dir: %w", err)
		}
	}
	return st, nil
}

func newID() (string, error) {
	b := make([]byte, idBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("quarantine id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// storedMode is the mode of a quarantined copy: no execute, setuid, setgid
// or sticky bits.
func storedMode(mode uint32) os.FileMode { return os.FileMode(mode & 0o666) }

// Quarantine moves the regular file at path into the quarantine directory
// under a random id, writes a sidecar (original path, mode, owner, size,
// SHA-256, time, reason) and strips the stored copy's execute, setuid and
// setgid bits. On the same file system the file is renamed; otherwise it is
// copied, fsynced and then removed. Directories, devices, FIFOs, sockets,
// symbolic links and anything under /proc, /sys or /dev are refused.
func (r *Responder) Quarantine(path, reason string) (Record, error) {
	if filepath.IsAbs(path) {
		path = filepath.Clean(path)
	}
	rec := r.record(ActionQuarantine, path)
	if len(reason) > maxReason {
		reason = reason[:maxReason]
	}
	if err := r.checkTarget(path); err != nil {
		return fail(rec, fmt.Errorf("quarantine: %w", err))
	}
	f, st, err := openRegular(path)
	if err != nil {
		return fail(rec, fmt.Errorf("quarantine: %w", err))
	}
	defer f.Close()
	if r.dryRun {
		rec.Detail = fmt.Sprintf("would move %s (%d bytes, mode %04o, uid %d, gid %d) into %s",
			path, st.Size, st.Mode&0o7777, st.Uid, st.Gid, r.qdir)
		return rec, nil
	}
	dst, err := r.ensureDir()
	if err != nil {
		return fail(rec, fmt.Errorf("quarantine: %w", err))
	}
	id, err := newID()
	if err != nil {
		return fail(rec, err)
	}
	q := Quarantined{
		Version: sidecarVersion, ID: id, OriginalPath: path,
		Mode: st.Mode & 0o7777, UID: st.Uid, GID: st.Gid, Size: st.Size,
		ModTime: time.Unix(st.Mtim.Unix()).UTC(), Time: rec.Time, Reason: reason,
	}
	stored := filepath.Join(r.qdir, id)
	var how string
	if st.Dev == dst.Dev {
		how, err = r.quarantineRename(f, &st, &q, stored)
	} else {
		how, err = r.quarantineCopy(f, &st, &q, stored)
	}
	if err != nil {
		return fail(rec, fmt.Errorf("quarantine %s: %w", path, err))
	}
	if err := os.Chmod(stored, storedMode(q.Mode)); err != nil {
		return fail(rec, fmt.Errorf("quarantine %s: strip mode: %w", path, err))
	}
	syncDir(r.qdir)
	rec.Detail = fmt.Sprintf("quarantined as %s (%s, %d bytes, sha256 %s)", id, how, q.Size, q.SHA256)
	if st.Nlink > 1 {
		rec.Detail += fmt.Sprintf("; %d other hard links to the content remain", st.Nlink-1)
	}
	return rec, nil
}

// quarantineRename hashes the file, writes the sidecar, then renames the
// file into the quarantine directory.
func (r *Responder) quarantineRename(f *os.File, st *unix.Stat_t, q *Quarantined, stored string) (string, error) {
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", fmt.Errorf("hash: %w", err)
	}
	q.SHA256, q.Size = hex.EncodeToString(h.Sum(nil)), n
	if err := writeSidecar(r.qdir, *q); err != nil {
		return "", err
	}
	undo := func(err error) (string, error) {
		os.Remove(filepath.Join(r.qdir, q.ID+".json"))
		return "", err
	}
	if !sameFile(q.OriginalPath, st) {
		return undo(errors.New("file replaced while being quarantined"))
	}
	if err := unix.Renameat2(unix.AT_FDCWD, q.OriginalPath, unix.AT_FDCWD, stored, unix.RENAME_NOREPLACE); err != nil {
		return undo(fmt.Errorf("rename: %w", err))
	}
	if !sameFile(stored, st) {
		// Swapped between the check and the rename: put it back.
		unix.Renameat2(unix.AT_FDCWD, stored, unix.AT_FDCWD, q.OriginalPath, unix.RENAME_NOREPLACE)
		return undo(errors.New("file replaced while being quarantined"))
	}
	syncDir(filepath.Dir(q.OriginalPath))
	return "renamed", nil
}

// quarantineCopy copies the file into the quarantine directory (hashing it
// on the way), fsyncs it, writes the sidecar, then removes the original.
func (r *Responder) quarantineCopy(f *os.File, st *unix.Stat_t, q *Quarantined, stored string) (string, error) {
	tmp := stored + ".tmp"
	sum, n, err := copyNew(tmp, f, 0o600)
	if err != nil {
		return "", err
	}
	q.SHA256, q.Size = sum, n
	if err := writeSidecar(r.qdir, *q); err != nil {
		os.Remove(tmp)
		return "", err
	}
	undo := func(err error) (string, error) {
		os.Remove(tmp)
		os.Remove(stored)
		os.Remove(filepath.Join(r.qdir, q.ID+".json"))
		return "", err
	}
	if err := os.Rename(tmp, stored); err != nil {
		return undo(fmt.Errorf("rename copy: %w", err))
	}
	if !sameFile(q.OriginalPath, st) {
		return undo(errors.New("file replaced while being quarantined"))
	}
	if err := os.Remove(q.OriginalPath); err != nil {
		return undo(fmt.Errorf("remove original: %w", err))
	}
	syncDir(filepath.Dir(q.OriginalPath))
	return "copied across file systems", nil
}

// copyNew creates name (which must not exist), copies src into it, fsyncs
// it and returns the content's SHA-256 and size.
func copyNew(name string, src io.Reader, perm os.FileMode) (string, int64, error) {
	out, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, perm)
	if err != nil {
		return "", 0, fmt.Errorf("copy: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), src)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", 0, fmt.Errorf("copy to %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// syncDir fsyncs a directory so a rename or removal in it is durable.
// Failure is ignored: the data itself was already synced.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// List returns the quarantined files, oldest first. Entries whose sidecar
// cannot be read are left out and reported in the returned error, next to
// the entries that could be.
func (r *Responder) List() ([]Quarantined, error) {
	ents, err := os.ReadDir(r.qdir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list quarantine: %w", err)
	}
	var out []Quarantined
	var errs []error
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !validID(id) {
			continue
		}
		q, err := readSidecar(r.qdir, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].ID < out[j].ID
	})
	return out, errors.Join(errs...)
}
