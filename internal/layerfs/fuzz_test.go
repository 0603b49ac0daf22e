package layerfs

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

var fuzzLimits = Limits{
	MaxEntries: 4000, MaxLayerBytes: 1 << 20, MaxFileBytes: 1 << 16,
	MaxRetainedBytes: 1 << 18, MaxSymlinkDepth: 8, MaxPathLen: 512,
}

// fuzzSeeds are layers exercising every kind of entry and every hostile
// case the tests know.
func fuzzSeeds(t testing.TB) [][]byte {
	seeds := [][]ent{
		{dir("etc/"), reg("etc/passwd", "root"), sym("x", "/etc"), sym("up", "../../.."), reg("f", "file")},
		{reg("x/passwd", "evil"), reg("up/escaped", "e"), reg("f/g", "nd"), reg("../escape", "e"), reg("/abs", "a")},
		{wh("etc", "passwd"), opq("usr/lib"), reg("usr/lib/a", "a"), wh("", "x"), dir("x/"), reg("x/y", "y")},
		{reg("own", "O"), hard("own2", "own"), hard("lower", "etc/passwd"), hard("esc", "../../etc/shadow"), hard("missing", "nope")},
		{sym("loop", "loop"), reg("loop/f", "l"), sym("a", "b"), sym("b", "a"), reg("a/f", "f")},
		{dev("dev/null", tar.TypeChar), dev("dev/sda", tar.TypeBlock), dev("fifo", tar.TypeFifo), dir("./")},
		{reg("d/f", "1"), dir("d/"), reg("d", "2"), reg("d/g", "3"), sym("s", "d"), reg("s/h", "4")},
	}
	var out [][]byte
	for _, s := range seeds {
		out = append(out, tarBytes(t, s...))
	}
	out = append(out, paxHeader("GNU.sparse.major=1", "GNU.sparse.minor=0", "GNU.sparse.name=sparse", "GNU.sparse.realsize=100000"))
	return out
}

func fuzzBase(t testing.TB) []byte {
	return tarBytes(t, dir("etc/"), reg("etc/passwd", "root"), sym("x", "/etc"), sym("up", "../../.."),
		sym("lib", "usr/lib"), dir("usr/lib/"), reg("usr/lib/libc.so", "c"), reg("f", "file"), sym("loop", "loop"))
}

func FuzzAddLayer(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	base := fuzzBase(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		img, err := New(Options{TempDir: parent, Retain: retainAll, Limits: fuzzLimits})
		if err != nil {
			t.Fatal(err)
		}
		defer img.Close()
		// The input as is exercises the tar parser; with its header
		// checksums repaired, mutated names, types and sizes reach the index.
		for _, l := range [][]byte{base, data, fixChecksums(data)} {
			lr := &layer{data: l}
			if err := img.AddLayer(context.Background(), lr.diffID(), lr.open); err != nil {
				t.Fatalf("AddLayer: %v", err)
			}
		}
		for _, p := range img.Problems() {
			if p.Layer == "" || p.Err == nil {
				t.Errorf("malformed problem %#v", p)
			}
		}
		for i := range img.LayerCount() {
			checkView(t, img, i)
		}
		// Nothing but the image's own data files.
		tmp := regexp.QuoteMeta(filepath.Base(img.tmpDir))
		name := regexp.MustCompile(`^` + tmp + `(/layer-\d{4}\.data)?$`)
		for _, e := range dirList(t, parent) {
			if !name.MatchString(e) {
				t.Errorf("unexpected file %s", e)
			}
		}
	})
}

// fixChecksums returns data with the checksum of every 512-byte block that
// looks like a ustar header recomputed.
func fixChecksums(data []byte) []byte {
	out := slices.Clone(data)
	for off := 0; off+512 <= len(out); off += 512 {
		b := out[off : off+512]
		if string(b[257:262]) != "ustar" {
			continue
		}
		copy(b[148:156], "        ")
		var sum int64
		for _, c := range b {
			sum += int64(c)
		}
		copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	}
	return out
}

// checkView walks view i and checks what every entry claims.
func checkView(t *testing.T, img *Image, i int) {
	v := img.View(i)
	last := i == img.LayerCount()-1
	err := fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !fs.ValidPath(p) {
			t.Errorf("invalid path %q", p)
		}
		info, err := fs.Lstat(v, p)
		if err != nil {
			t.Errorf("Lstat(%q): %v", p, err)
			return nil
		}
		if info.Mode().Type() != d.Type() {
			t.Errorf("%s: Lstat type %v, ReadDir type %v", p, info.Mode().Type(), d.Type())
		}
		fs.Stat(v, p) // may fail (loops, dangling), must not hang or panic
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := fs.ReadFile(v, p)
		switch {
		case errors.Is(err, ErrNotRetained):
		case err != nil:
			t.Errorf("ReadFile(%q): %v", p, err)
		case int64(len(b)) != info.Size():
			t.Errorf("%s: read %d bytes, size %d", p, len(b), info.Size())
		}
		if last {
			w := img.Writers(p)
			if len(w) == 0 || !slices.IsSorted(w) || w[len(w)-1] > i {
				t.Errorf("Writers(%q) = %v", p, w)
			}
		}
		return nil
	})
	if err != nil {
		t.Errorf("walk view %d: %v", i, err)
	}
}

// indexBytes returns the encoded index of a cached layer.
func indexBytes(t testing.TB, cache string, data []byte) (string, []byte) {
	img, err := New(Options{CacheDir: cache, TempDir: cache, Retain: retainAll, RetainKey: "fuzz", Limits: fuzzLimits})
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	l := &layer{data: data}
	if err := img.AddLayer(context.Background(), l.diffID(), l.open); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(img.cachePath(l.diffID()))
	if err != nil {
		t.Fatal(err)
	}
	t0 := b[len(b)-trailerLen:]
	off, n := binary.BigEndian.Uint64(t0), binary.BigEndian.Uint64(t0[8:])
	return l.diffID(), b[off : off+n]
}

// FuzzCacheIndex decodes arbitrary cache indexes: a damaged or forged
// cache entry must be rejected or yield a well-formed tree.
func FuzzCacheIndex(f *testing.F) {
	cache := f.TempDir()
	for _, s := range fuzzSeeds(f) {
		diffID, idx := indexBytes(f, cache, s)
		f.Add(diffID, idx)
	}
	opts := Options{RetainKey: "fuzz", Limits: fuzzLimits}
	key := opts.cacheKey()
	// Forged indexes: a name io/fs cannot name; a hardlink below a root
	// whose flags deny having one.
	for _, kid := range []*node{
		{name: "\xff", kind: kindReg, blob: -1},
		{name: "link", kind: kindHardlink, blob: -1, ext: &ext{target: "etc/passwd"}},
	} {
		root := newDir("", 0)
		root.ext.kids = []*node{kid}
		var forged bytes.Buffer
		e := &encoder{w: bufio.NewWriter(&forged)}
		e.index(&layerIndex{root: root, entries: 1}, "sha256:forged", key)
		e.w.Flush()
		f.Add("sha256:forged", forged.Bytes())
	}
	content, err := os.CreateTemp(cache, "content")
	if err != nil {
		f.Fatal(err)
	}
	defer content.Close()
	if err := content.Truncate(1 << 20); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, diffID string, data []byte) {
		d := &decoder{b: data, dataEnd: 1 << 20, maxPath: fuzzLimits.MaxPathLen, maxNodes: fuzzLimits.MaxEntries + 1}
		idx := d.index(diffID, key)
		if d.err != nil {
			if idx != nil {
				t.Fatal("index returned with an error")
			}
			return
		}
		for i, b := range idx.blobs {
			idx.blobs[i].f = content
			if b.off < int64(headerLen) || b.off+b.size > 1<<20 {
				t.Errorf("blob %+v out of range", b)
			}
		}
		img := &Image{lim: fuzzLimits, blobs: idx.blobs}
		freezeCheck(t, idx.root, 0)
		m := &merger{lim: fuzzLimits}
		img.layers = []layerState{{diffID: diffID, view: m.merge(idx.root)}}
		checkView(t, img, 0)
		var buf bytes.Buffer
		e := &encoder{w: bufio.NewWriter(&buf)}
		e.index(idx, diffID, key)
		e.w.Flush()
		if d2 := (&decoder{b: buf.Bytes(), dataEnd: 1 << 20, maxPath: fuzzLimits.MaxPathLen, maxNodes: fuzzLimits.MaxEntries + 1}); d2.index(diffID, key) == nil {
			t.Errorf("re-encoded index does not decode: %v", d2.err)
		}
	})
}

// freezeCheck checks the invariants views rely on.
func freezeCheck(t *testing.T, n *node, depth int) {
	if n.kind != kindDir {
		return
	}
	for i, k := range n.ext.kids {
		if !validName(k.name) || (i > 0 && n.ext.kids[i-1].name >= k.name) {
			t.Fatalf("bad child %q", k.name)
		}
		freezeCheck(t, k, depth+1)
	}
}
