package layerfs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

func cacheLayers(t *testing.T) []*layer {
	return layers(t,
		[]ent{dir("etc/"), reg("etc/passwd", "root"), reg("var/lib/dpkg/status", "Package: a"), sym("x", "/etc"), reg("skip", "no")},
		[]ent{
			wh("etc", "passwd"), reg("usr/bin/tool", "BIN"), hard("want/tool", "usr/bin/tool"),
			reg("../escape", "e"),   // an index-time problem, cached
			hard("missing", "nope"), // a view-time problem, found again
			reg("x/shadow", "s"),
		},
		[]ent{opq("var/lib/dpkg"), reg("var/lib/dpkg/status", "Package: b")},
	)
}

func cacheOpts(cache, key string) Options {
	return Options{
		CacheDir:  cache,
		RetainKey: key,
		Retain: func(name string, _ fs.FileInfo) bool {
			return name != "skip" && name != "usr/bin/tool"
		},
	}
}

// snapshot is everything a scan sees of an image.
func snapshot(t *testing.T, img *Image) string {
	var b strings.Builder
	for i := range img.LayerCount() {
		l := listing(t, img.View(i))
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range l {
				if !yield(k) {
					return
				}
			}
		})
		fmt.Fprintf(&b, "view %d %s\n", i, img.LayerDiffID(i))
		for _, k := range keys {
			fmt.Fprintf(&b, "  %s %s writers=%v\n", k, l[k], img.Writers(k))
		}
	}
	for _, p := range img.Problems() {
		fmt.Fprintf(&b, "problem %v escape=%v notexist=%v\n", p, errors.Is(p, ErrEscape), errors.Is(p, fs.ErrNotExist))
	}
	return b.String()
}

func fresh(ls []*layer) []*layer {
	var out []*layer
	for _, l := range ls {
		out = append(out, &layer{data: l.data})
	}
	return out
}

func opens(ls []*layer) []int32 {
	var out []int32
	for _, l := range ls {
		out = append(out, l.opens.Load())
	}
	return out
}

func TestCacheHitMiss(t *testing.T) {
	cache := t.TempDir()
	ls := cacheLayers(t)
	img := build(t, cacheOpts(cache, "k1"), ls...)
	want := snapshot(t, img)
	if img.CacheHits() != 0 {
		t.Errorf("CacheHits = %d on an empty cache", img.CacheHits())
	}
	if got := opens(ls); !slices.Equal(got, []int32{1, 2, 1}) {
		t.Errorf("opens = %v", got)
	}
	for _, s := range []string{"f:root", "want/tool f:BIN", "problem layer", "escape=true", "notexist=true", "etc/shadow f:s writers=[1]"} {
		if !strings.Contains(want, s) {
			t.Errorf("snapshot lacks %q:\n%s", s, want)
		}
	}
	files := dirList(t, filepath.Join(cache, "layerfs", "v1"))
	if len(files) != 3 {
		t.Errorf("cache holds %v", files)
	}
	for _, f := range files {
		if !regexp.MustCompile(`^sha256-[0-9a-f]{64}\.[0-9a-f]{32}$`).MatchString(f) {
			t.Errorf("cache file name %q", f)
		}
	}
	if err := img.Close(); err != nil {
		t.Fatal(err)
	}

	// A re-scan reads no tar at all.
	ls2 := fresh(ls)
	img2 := build(t, cacheOpts(cache, "k1"), ls2...)
	if img2.CacheHits() != 3 || !slices.Equal(opens(ls2), []int32{0, 0, 0}) {
		t.Errorf("CacheHits = %d, opens = %v", img2.CacheHits(), opens(ls2))
	}
	if got := snapshot(t, img2); got != want {
		t.Errorf("cached image differs:\n%s\nwant:\n%s", got, want)
	}

	// Another Retain predicate reads the layers again.
	ls3 := fresh(ls)
	img3 := build(t, cacheOpts(cache, "k2"), ls3...)
	if img3.CacheHits() != 0 || !slices.Equal(opens(ls3), []int32{1, 2, 1}) {
		t.Errorf("other key: CacheHits = %d, opens = %v", img3.CacheHits(), opens(ls3))
	}
	// So do other limits.
	opts := cacheOpts(cache, "k1")
	opts.Limits.MaxFileBytes = 1 << 20
	img4 := build(t, opts, fresh(ls)...)
	if img4.CacheHits() != 0 {
		t.Errorf("other limits: CacheHits = %d", img4.CacheHits())
	}
	if n := len(dirList(t, filepath.Join(cache, "layerfs", "v1"))); n != 9 {
		t.Errorf("cache holds %d files, want 9", n)
	}
}

func TestCacheNotStored(t *testing.T) {
	cache := t.TempDir()
	l := &layer{data: tarBytes(t, reg("a", "a"))}
	tmp := t.TempDir()
	img, err := New(Options{CacheDir: cache, Retain: retainAll, RetainKey: "all", TempDir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	ctx := context.Background()
	for _, diffID := range []string{
		digestOf([]byte("not this layer")), // digest mismatch
		"sha256:../../../../etc/passwd",    // not a digest: never used in a path
		"SHA256:" + strings.Repeat("A", 64),
		"sha256:" + strings.Repeat("a", 63),
		"",
	} {
		if err := img.AddLayer(ctx, diffID, l.open); err != nil {
			t.Fatal(err)
		}
	}
	if files := dirList(t, cache); !slices.Equal(files, []string{"layerfs", "layerfs/v1"}) {
		t.Errorf("cache holds %v", files)
	}
	wantProblem(t, img, ErrDigest, "")
	if n := len(img.Problems()); n != 1 {
		t.Errorf("problems: %v", img.Problems())
	}
	// Uncached layers keep their contents in the temporary directory.
	data := dirList(t, tmp)
	if len(data) != 5 || !strings.HasSuffix(data[4], "/layer-0004.data") {
		t.Errorf("temp dir holds %v", data)
	}
	// The contents of uncached layers stay readable.
	for i := range img.LayerCount() {
		if b, err := fs.ReadFile(img.View(i), "a"); err != nil || string(b) != "a" {
			t.Errorf("View(%d) a = %q, %v", i, b, err)
		}
	}
}

func TestCacheCorrupt(t *testing.T) {
	ls := cacheLayers(t)
	for _, tc := range []struct {
		name    string
		corrupt func(t *testing.T, path string, other string)
	}{
		{"content-byte", func(t *testing.T, p, _ string) { flip(t, p, 9) }},
		{"index-byte", func(t *testing.T, p, _ string) { flip(t, p, -trailerLen-3) }},
		{"trailer-byte", func(t *testing.T, p, _ string) { flip(t, p, -trailerLen) }},
		{"truncated", func(t *testing.T, p, _ string) {
			fi, _ := os.Stat(p)
			if err := os.Truncate(p, fi.Size()/2); err != nil {
				t.Fatal(err)
			}
		}},
		{"empty", func(t *testing.T, p, _ string) { write(t, p, nil) }},
		{"garbage", func(t *testing.T, p, _ string) { write(t, p, []byte(strings.Repeat("garbage!", 100))) }},
		{"other-layer", func(t *testing.T, p, other string) {
			b, err := os.ReadFile(other)
			if err != nil {
				t.Fatal(err)
			}
			write(t, p, b)
		}},
		{"directory", func(t *testing.T, p, _ string) {
			os.Remove(p)
			os.Mkdir(p, 0o700)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cache := t.TempDir()
			img := build(t, cacheOpts(cache, "k"), fresh(ls)...)
			want := snapshot(t, img)
			img.Close()
			var paths []string
			for _, l := range ls {
				paths = append(paths, img.cachePath(l.diffID()))
			}
			tc.corrupt(t, paths[1], paths[0])

			ls2 := fresh(ls)
			img2 := build(t, cacheOpts(cache, "k"), ls2...)
			if tc.name == "directory" {
				// The entry cannot be replaced: the layer is read each time.
				if img2.CacheHits() != 2 || ls2[1].opens.Load() == 0 {
					t.Errorf("CacheHits = %d, opens = %v", img2.CacheHits(), opens(ls2))
				}
				return
			}
			if img2.CacheHits() != 2 || !slices.Equal(opens(ls2), []int32{0, 2, 0}) {
				t.Errorf("CacheHits = %d, opens = %v", img2.CacheHits(), opens(ls2))
			}
			if got := snapshot(t, img2); got != want {
				t.Errorf("rebuilt image differs:\n%s\nwant:\n%s", got, want)
			}
			img3 := build(t, cacheOpts(cache, "k"), fresh(ls)...)
			if img3.CacheHits() != 3 {
				t.Errorf("entry not rebuilt: CacheHits = %d", img3.CacheHits())
			}
		})
	}
}

func TestCacheConcurrentProcesses(t *testing.T) {
	cache := t.TempDir()
	ls := cacheLayers(t)
	want := snapshot(t, build(t, cacheOpts(t.TempDir(), "k"), fresh(ls)...))
	var wg sync.WaitGroup
	got := make([]string, 6)
	tmp := t.TempDir()
	for i := range got {
		wg.Go(func() {
			opts := cacheOpts(cache, "k")
			opts.TempDir = tmp
			img, err := New(opts)
			if err != nil {
				t.Error(err)
				return
			}
			defer img.Close()
			for _, l := range fresh(ls) {
				if err := img.AddLayer(context.Background(), l.diffID(), l.open); err != nil {
					t.Error(err)
					return
				}
			}
			got[i] = snapshot(t, img)
		})
	}
	wg.Wait()
	for i, g := range got {
		if g != want {
			t.Errorf("image %d differs:\n%s\nwant:\n%s", i, g, want)
		}
	}
	if files := dirList(t, filepath.Join(cache, "layerfs", "v1")); len(files) != 3 {
		t.Errorf("cache holds %v", files)
	}
}

func flip(t *testing.T, path string, off int64) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off += int64(len(b))
	}
	b[off] ^= 0x55
	write(t, path, b)
}

func write(t *testing.T, path string, b []byte) {
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
