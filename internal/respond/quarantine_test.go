package respond

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/fixture"
)

// devOf is the device number of the file system holding p.
func devOf(t *testing.T, p string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Dev
}

// shmDir is a directory on /dev/shm (tmpfs), removed after the test.
func shmDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("/dev/shm", "vigil-respond-")
	if err != nil {
		t.Skipf("skipping: no /dev/shm: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func TestQuarantineRestore(t *testing.T) {
	content := []byte("#!/bin/sh\necho miner\n")
	sum := sha256.Sum256(content)
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	uid, gid := os.Geteuid(), os.Getegid()
	if uid == 0 {
		uid, gid = 4321, 8765 // root can give the file a stranger's ownership
	}
	tests := []struct {
		name   string
		srcDir func(t *testing.T, qdir string) string
		how    string
	}{
		{"same file system", func(t *testing.T, qdir string) string { return t.TempDir() }, "renamed"},
		{"across file systems", func(t *testing.T, qdir string) string {
			d := shmDir(t)
			if devOf(t, d) == devOf(t, filepath.Dir(qdir)) {
				t.Skipf("skipping: /dev/shm is on the same file system as %s", qdir)
			}
			return d
		}, "copied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			qdir := filepath.Join(t.TempDir(), "quarantine")
			src := filepath.Join(tt.srcDir(t, qdir), "payload.sh")
			if err := os.WriteFile(src, content, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(src, 0o755); err != nil { // past the umask
				t.Fatal(err)
			}
			if err := os.Lchown(src, uid, gid); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(src, mtime, mtime); err != nil {
				t.Fatal(err)
			}
			at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
			r := New(Options{QuarantineDir: qdir, Now: func() time.Time { return at }})

			rec, err := r.Quarantine(src, "rule miner_binary")
			if err != nil {
				t.Fatalf("Quarantine: %v", err)
			}
			t.Logf("record: %+v", rec)
			if rec.Action != ActionQuarantine || rec.Target != src || !strings.Contains(rec.Detail, tt.how) {
				t.Errorf("record = %+v, want a %s quarantine of %s", rec, tt.how, src)
			}
			if _, err := os.Lstat(src); !os.IsNotExist(err) {
				t.Errorf("original still there after quarantine (lstat: %v)", err)
			}
			fi, err := os.Stat(qdir)
			if err != nil || fi.Mode().Perm() != 0o700 {
				t.Errorf("quarantine dir: %v, %v; want mode 0700", fi.Mode(), err)
			}

			list, err := r.List()
			if err != nil || len(list) != 1 {
				t.Fatalf("List = %+v, %v; want one entry", list, err)
			}
			q := list[0]
			want := Quarantined{Version: 1, ID: q.ID, OriginalPath: src, Mode: 0o755,
				UID: uint32(uid), GID: uint32(gid), Size: int64(len(content)),
				SHA256: hex.EncodeToString(sum[:]), ModTime: mtime, Time: at, Reason: "rule miner_binary"}
			if q != want {
				t.Errorf("List()[0] = %+v\nwant        %+v", q, want)
			}
			if !strings.Contains(rec.Detail, q.ID) {
				t.Errorf("record detail %q does not name id %s", rec.Detail, q.ID)
			}
			stored := filepath.Join(qdir, q.ID)
			got, err := os.ReadFile(stored)
			if err != nil || !bytes.Equal(got, content) {
				t.Errorf("stored copy = %q, %v", got, err)
			}
			if fi, err := os.Stat(stored); err != nil || fi.Mode()&0o111 != 0 || !fi.Mode().IsRegular() {
				t.Errorf("stored copy mode %v (%v): want regular, not executable", fi.Mode(), err)
			}
			side, err := os.ReadFile(filepath.Join(qdir, q.ID+".json"))
			if err != nil || !bytes.Contains(side, []byte(`"sha256": "`+want.SHA256)) {
				t.Errorf("sidecar = %s, %v", side, err)
			}

			if err := r.Restore(q.ID); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			got, err = os.ReadFile(src)
			if err != nil || !bytes.Equal(got, content) {
				t.Errorf("restored content = %q, %v", got, err)
			}
			fi, err = os.Lstat(src)
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if fi.Mode() != 0o755 || int(st.Uid) != uid || int(st.Gid) != gid || !fi.ModTime().Equal(mtime) {
				t.Errorf("restored: mode %v uid %d gid %d mtime %v; want -rwxr-xr-x %d %d %v",
					fi.Mode(), st.Uid, st.Gid, fi.ModTime(), uid, gid, mtime)
			}
			if list, err := r.List(); err != nil || len(list) != 0 {
				t.Errorf("List after restore = %+v, %v; want empty", list, err)
			}
			if ents, _ := os.ReadDir(qdir); len(ents) != 0 {
				t.Errorf("quarantine dir not empty after restore: %v", ents)
			}
		})
	}
}

func TestQuarantineRefuses(t *testing.T) {
	dir := t.TempDir()
	qdir := filepath.Join(dir, "q")
	if err := os.Mkdir(qdir, 0o700); err != nil {
		t.Fatal(err)
	}
	mk := func(name string, make func(p string) error) string {
		p := filepath.Join(dir, name)
		if err := make(p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sub := mk("subdir", func(p string) error { return os.Mkdir(p, 0o755) })
	link := mk("link", func(p string) error { return os.Symlink("/etc/hostname", p) })
	fifo := mk("fifo", func(p string) error { return unix.Mkfifo(p, 0o644) })
	procLink := mk("proc", func(p string) error { return os.Symlink("/proc/self", p) })
	inQ := filepath.Join(qdir, "x")
	if err := os.WriteFile(inQ, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, path string
		want       error
	}{
		{"directory", sub, ErrNotRegular},
		{"symbolic link", link, ErrNotRegular},
		{"fifo", fifo, ErrNotRegular},
		{"device", "/dev/null", ErrForbiddenPath},
		{"dev prefix look-alike", "/dev/shmx/a", ErrForbiddenPath},
		{"dev/shm escape", "/dev/shm/../null", ErrForbiddenPath},
		{"proc", "/proc/self/status", ErrForbiddenPath},
		{"sys", "/sys/kernel/notes", ErrForbiddenPath},
		{"proc through a symlinked directory", filepath.Join(procLink, "status"), ErrForbiddenPath},
		{"relative", "etc/passwd", ErrForbiddenPath},
		{"root", "/", ErrForbiddenPath},
		{"quarantine dir", inQ, ErrForbiddenPath},
		{"missing", filepath.Join(dir, "missing"), os.ErrNotExist},
	}
	if os.Geteuid() == 0 {
		dev := mk("null", func(p string) error { return unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))) })
		tests = append(tests, struct {
			name, path string
			want       error
		}{"device node outside /dev", dev, ErrNotRegular})
	} else {
		t.Log("not root: the device-node case is left out")
	}
	for _, dry := range []bool{false, true} {
		r := New(Options{QuarantineDir: qdir, DryRun: dry})
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/dry-run=%v", tt.name, dry), func(t *testing.T) {
				rec, err := r.Quarantine(tt.path, "test")
				if !errors.Is(err, tt.want) {
					t.Fatalf("Quarantine(%s) error = %v, want %v", tt.path, err, tt.want)
				}
				if rec.Err == "" {
					t.Errorf("record = %+v, want the error recorded", rec)
				}
			})
		}
	}
	for _, p := range []string{sub, link, fifo, inQ} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s touched by a refused quarantine: %v", p, err)
		}
	}
}

func TestQuarantineDryRun(t *testing.T) {
	qdir := filepath.Join(t.TempDir(), "q")
	src := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(src, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	rec, err := New(Options{QuarantineDir: qdir, DryRun: true}).Quarantine(src, "test")
	if err != nil {
		t.Fatal(err)
	}
	if !rec.DryRun || !strings.HasPrefix(rec.Detail, "would move") {
		t.Errorf("record = %+v", rec)
	}
	if _, err := os.Stat(src); err != nil {
		t.Errorf("dry run moved the file: %v", err)
	}
	if _, err := os.Stat(qdir); !os.IsNotExist(err) {
		t.Errorf("dry run created the quarantine dir (stat: %v)", err)
	}
}

// quarantined puts a fresh file into a fresh quarantine and returns the
// responder, the file's path and its id.
func quarantined(t *testing.T) (*Responder, string, string) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "x.bin")
	if err := os.WriteFile(src, []byte("payload"), 0o700); err != nil {
		t.Fatal(err)
	}
	r := New(Options{QuarantineDir: filepath.Join(t.TempDir(), "q")})
	if _, err := r.Quarantine(src, "test"); err != nil {
		t.Fatal(err)
	}
	list, err := r.List()
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %v, %v", list, err)
	}
	return r, src, list[0].ID
}

func TestRestoreRefuses(t *testing.T) {
	t.Run("original path taken", func(t *testing.T) {
		r, src, id := quarantined(t)
		if err := os.WriteFile(src, []byte("new"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := r.Restore(id); !errors.Is(err, ErrExists) {
			t.Fatalf("Restore over an existing file: %v, want ErrExists", err)
		}
		if b, _ := os.ReadFile(src); string(b) != "new" {
			t.Errorf("the file at the original path was replaced: %q", b)
		}
		if err := os.Remove(src); err != nil {
			t.Fatal(err)
		}
		if err := r.Restore(id); err != nil {
			t.Fatalf("Restore once the path is free: %v", err)
		}
		if b, _ := os.ReadFile(src); string(b) != "payload" {
			t.Errorf("restored %q", b)
		}
	})
	t.Run("stored content changed", func(t *testing.T) {
		r, src, id := quarantined(t)
		if err := os.WriteFile(filepath.Join(r.qdir, id), []byte("tampered"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := r.Restore(id); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Restore of tampered content: %v, want ErrCorrupt", err)
		}
		if _, err := os.Lstat(src); !os.IsNotExist(err) {
			t.Errorf("tampered content restored (lstat: %v)", err)
		}
	})
	t.Run("dry run", func(t *testing.T) {
		r, src, id := quarantined(t)
		dry := New(Options{QuarantineDir: r.qdir, DryRun: true})
		if err := dry.Restore(id); !errors.Is(err, ErrDryRun) {
			t.Fatalf("dry-run Restore: %v, want ErrDryRun", err)
		}
		if _, err := os.Lstat(src); !os.IsNotExist(err) {
			t.Errorf("dry-run Restore restored (lstat: %v)", err)
		}
	})
	for _, id := range []string{"", "../../etc/passwd", "0123456789abcdef0123456789abcdeF", "0123456789abcdef0123456789abcdef"} {
		t.Run("id "+id, func(t *testing.T) {
			r, _, _ := quarantined(t)
			if err := r.Restore(id); !errors.Is(err, ErrNotFound) {
				t.Errorf("Restore(%q) = %v, want ErrNotFound", id, err)
			}
		})
	}
}

func TestListMissingDir(t *testing.T) {
	r := New(Options{QuarantineDir: filepath.Join(t.TempDir(), "none")})
	if list, err := r.List(); err != nil || list != nil {
		t.Errorf("List of a missing dir = %v, %v", list, err)
	}
}

func TestListReportsCorrupt(t *testing.T) {
	r, _, id := quarantined(t)
	bad := strings.Repeat("f", 2*idBytes)
	if err := os.WriteFile(filepath.Join(r.qdir, bad+".json"), []byte(`{"version":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	list, err := r.List()
	if !errors.Is(err, ErrCorrupt) || len(list) != 1 || list[0].ID != id {
		t.Errorf("List = %+v, %v; want the good entry and ErrCorrupt", list, err)
	}
}

func TestQuarantineDirOwnership(t *testing.T) {
	fixture.NeedRoot(t)
	qdir := filepath.Join(t.TempDir(), "q")
	if err := os.Mkdir(qdir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(qdir, 4321, 4321); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(src, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{QuarantineDir: qdir}).Quarantine(src, "t"); err == nil {
		t.Fatal("quarantined into a directory another user owns")
	}
	if _, err := os.Stat(src); err != nil {
		t.Errorf("file moved despite the refusal: %v", err)
	}
}
