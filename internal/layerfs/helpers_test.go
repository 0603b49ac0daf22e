package layerfs

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// ent describes one tar entry to generate.
type ent struct {
	name string
	typ  byte
	body string
	link string
	mode int64
	size int64 // header size when body is empty and size > 0 (no data written)
	pax  map[string]string
}

func reg(name, body string) ent { return ent{name: name, typ: tar.TypeReg, body: body, mode: 0o644} }
func dir(name string) ent       { return ent{name: name, typ: tar.TypeDir, mode: 0o755} }
func sym(name, target string) ent {
	return ent{name: name, typ: tar.TypeSymlink, link: target, mode: 0o777}
}
func hard(name, target string) ent {
	return ent{name: name, typ: tar.TypeLink, link: target, mode: 0o644}
}
func wh(dir, name string) ent         { return reg(joinPath(dir, ".wh."+name), "") }
func opq(dir string) ent              { return reg(joinPath(dir, ".wh..wh..opq"), "") }
func dev(name string, typ byte) ent   { return ent{name: name, typ: typ, mode: 0o600} }
func exe(name, body string) ent       { e := reg(name, body); e.mode = 0o755; return e }
func (e ent) withMode(m int64) ent    { e.mode = m; return e }
func (e ent) withPAX(k, v string) ent { e.pax = map[string]string{k: v}; return e }

var testTime = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// tarBytes builds an uncompressed layer.
func tarBytes(t testing.TB, entries ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{
			Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: e.mode,
			Size: int64(len(e.body)), ModTime: testTime, PAXRecords: e.pax,
		}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("write header %q: %v", e.name, err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// layer is a test layer: its stream and how often it was opened.
type layer struct {
	data  []byte
	opens atomic.Int32
}

func (l *layer) open() (io.ReadCloser, error) {
	l.opens.Add(1)
	return io.NopCloser(bytes.NewReader(l.data)), nil
}

func (l *layer) diffID() string { return digestOf(l.data) }

// build adds the layers to a new Image, failing the test on fatal errors.
func build(t testing.TB, opts Options, layers ...*layer) *Image {
	t.Helper()
	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}
	img, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { img.Close() })
	for i, l := range layers {
		if err := img.AddLayer(context.Background(), l.diffID(), l.open); err != nil {
			t.Fatalf("AddLayer %d: %v", i, err)
		}
	}
	return img
}

func layers(t testing.TB, specs ...[]ent) []*layer {
	var ls []*layer
	for _, s := range specs {
		ls = append(ls, &layer{data: tarBytes(t, s...)})
	}
	return ls
}

func retainAll(string, fs.FileInfo) bool { return true }

// listing describes every entry of fsys, walked without following
// symlinks: "d" for a directory, "l:<target>" for a symlink, "f:<content>"
// for a retained file, "f#<size>" for one not retained, "c", "b", "p" for
// devices and fifos.
func listing(t testing.TB, fsys fs.FS) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		switch m := d.Type(); {
		case m.IsDir():
			out[p] = "d"
		case m&fs.ModeSymlink != 0:
			target, err := fs.ReadLink(fsys, p)
			if err != nil {
				return err
			}
			out[p] = "l:" + target
		case m&fs.ModeCharDevice != 0:
			out[p] = "c"
		case m&fs.ModeDevice != 0:
			out[p] = "b"
		case m&fs.ModeNamedPipe != 0:
			out[p] = "p"
		default:
			b, err := fs.ReadFile(fsys, p)
			switch {
			case errors.Is(err, ErrNotRetained):
				info, _ := d.Info()
				out[p] = fmt.Sprintf("f#%d", info.Size())
			case err != nil:
				return err
			default:
				out[p] = "f:" + string(b)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk: %v", err)
	}
	return out
}

func diffListing(t testing.TB, label string, got, want map[string]string) {
	t.Helper()
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var diffs []string
	for _, k := range keys {
		if got[k] != want[k] {
			diffs = append(diffs, fmt.Sprintf("  %s: got %q, want %q", k, got[k], want[k]))
		}
	}
	if len(diffs) > 0 {
		t.Errorf("%s differs:\n%s", label, strings.Join(diffs, "\n"))
	}
}

// problemsMatching returns the problems wrapping target.
func problemsMatching(img *Image, target error) []Problem {
	var out []Problem
	for _, p := range img.Problems() {
		if errors.Is(p, target) {
			out = append(out, p)
		}
	}
	return out
}

func wantProblem(t testing.TB, img *Image, target error, path string) {
	t.Helper()
	for _, p := range problemsMatching(img, target) {
		if p.Path == path {
			return
		}
	}
	t.Errorf("no problem %v at %q; problems: %v", target, path, img.Problems())
}

func wantNoProblems(t testing.TB, img *Image) {
	t.Helper()
	if ps := img.Problems(); len(ps) > 0 {
		t.Errorf("unexpected problems: %v", ps)
	}
}

// dirList lists the names under dir, recursively, relative to it.
func dirList(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}
