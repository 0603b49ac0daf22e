package scan_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/vigil-sec/vigil/internal/inventory"
	"github.com/vigil-sec/vigil/internal/layerfs"
	"github.com/vigil-sec/vigil/internal/scan"
)

// entry is one tar member for a test layer.
type entry struct {
	name     string
	body     string
	typ      byte // tar.TypeReg when zero
	linkname string
	size     int64 // header size override for bombs; 0 means len(body)
}

func tarOf(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Typeflag: e.typ, Linkname: e.linkname, ModTime: time.Unix(1700000000, 0)}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if h.Typeflag == tar.TypeDir {
			h.Mode = 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.WriteString(tw, e.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ociLayout writes an image made of the given layer tars as an OCI layout.
func ociLayout(t *testing.T, layers ...[]byte) string {
	t.Helper()
	return ociLayoutCompressed(t, compression.GZip, layers...)
}

// ociLayoutCompressed is ociLayout with the layers stored in comp.
func ociLayoutCompressed(t *testing.T, comp compression.Compression, layers ...[]byte) string {
	t.Helper()
	img := empty.Image
	for _, l := range layers {
		data := l
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
			tarball.WithCompression(comp))
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{CreatedBy: "test layer"}}); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	return dir
}

const osRelease = "ID=debian\nVERSION_ID=\"11\"\nVERSION_CODENAME=bullseye\nPRETTY_NAME=\"Debian GNU/Linux 11 (bullseye)\"\n"

func stanza(name, version, source string) string {
	s := "Package: " + name + "\nStatus: install ok installed\nArchitecture: amd64\nVersion: " + version + "\n"
	if source != "" {
		s += "Source: " + source + "\n"
	}
	return s + "Description: test\n\n"
}

func newEngine(t *testing.T) *inventory.Engine {
	t.Helper()
	e, err := inventory.NewEngine(inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestImageLayerAttribution: a package keeps the layer that first installed
// it even when later layers rewrite the status file; a removed file's
// packages disappear; a re-scan with a warm cache reads no layer and gives
// the same result.
func TestImageLayerAttribution(t *testing.T) {
	base := tarOf(t, []entry{
		{name: "etc/", typ: tar.TypeDir},
		{name: "etc/os-release", body: osRelease},
		{name: "var/lib/dpkg/status", body: stanza("libc6", "2.31-13+deb11u5", "glibc") + stanza("zlib1g", "1:1.2.11.dfsg-2+deb11u2", "zlib")},
		{name: "app/package-lock.json", body: `{"lockfileVersion":3,"packages":{"":{"name":"x"},"node_modules/minimist":{"version":"1.2.5"}}}`},
	})
	second := tarOf(t, []entry{
		{name: "var/lib/dpkg/status", body: stanza("libc6", "2.31-13+deb11u5", "glibc") + stanza("zlib1g", "1:1.2.11.dfsg-2+deb11u2", "zlib") + stanza("curl", "7.74.0-1.3+deb11u7", "")},
		{name: "app/.wh.package-lock.json"},
	})
	third := tarOf(t, []entry{{name: "srv/readme.txt", body: "unrelated"}})
	dir := ociLayout(t, base, second, third)
	e := newEngine(t)
	cache := t.TempDir()

	out, err := scan.Image(context.Background(), e, dir, scan.ImageOptions{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	res, st := out.Result, out.Stats
	if res.Incomplete() {
		t.Fatalf("unexpected unknowns: %+v", res.Unknowns)
	}
	if st.Layers != 3 || st.CacheHits != 0 {
		t.Errorf("stats = %+v, want 3 layers, 0 cache hits", st)
	}
	if res.Asset.OS == nil || res.Asset.OS.VersionID != "11" {
		t.Errorf("OS = %+v", res.Asset.OS)
	}
	want := map[string]int{"libc6": 0, "zlib1g": 0, "curl": 1}
	got := map[string]int{}
	for _, p := range res.Packages {
		if p.Ecosystem == inventory.Npm {
			t.Errorf("package %s from a whited-out file reported", p.Name)
		}
		got[p.Name] = p.Locations[0].LayerIndex
		if p.Locations[0].LayerDiffID != res.Asset.Layers[p.Locations[0].LayerIndex].DiffID {
			t.Errorf("%s: layer diffID %s does not match layer %d", p.Name, p.Locations[0].LayerDiffID, p.Locations[0].LayerIndex)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("packages %v, want %v", got, want)
	}
	for n, l := range want {
		if got[n] != l {
			t.Errorf("%s introduced in layer %d, want %d", n, got[n], l)
		}
	}

	out2, err := scan.Image(context.Background(), e, dir, scan.ImageOptions{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	again, st2 := out2.Result, out2.Stats
	if st2.CacheHits != 3 {
		t.Errorf("re-scan cache hits = %d, want 3", st2.CacheHits)
	}
	if len(again.Packages) != len(res.Packages) {
		t.Fatalf("re-scan found %d packages, first scan %d", len(again.Packages), len(res.Packages))
	}
	for i := range res.Packages {
		a, b := res.Packages[i], again.Packages[i]
		if a.ID != b.ID || a.Locations[0] != b.Locations[0] {
			t.Errorf("re-scan differs: %+v vs %+v", a, b)
		}
	}
}

// TestImageHostileLayers: layers that try to escape the root or exhaust
// resources never write outside the scan's directories, and turn the result
// incomplete instead of clean, while the rest of the image is still
// inventoried.
func TestImageHostileLayers(t *testing.T) {
	canary := filepath.Join(os.TempDir(), "vigil-escape-canary-"+strings.ReplaceAll(t.Name(), "/", "_"))
	os.Remove(canary)
	rel, err := filepath.Rel("/", canary)
	if err != nil {
		t.Fatal(err)
	}
	base := tarOf(t, []entry{
		{name: "etc/os-release", body: osRelease},
		{name: "var/lib/dpkg/status", body: stanza("libc6", "2.31-13+deb11u5", "glibc")},
		{name: "escape", typ: tar.TypeSymlink, linkname: "/"},
	})
	cases := []struct {
		name  string
		layer []byte
	}{
		{"dotdot", tarOf(t, []entry{{name: strings.Repeat("../", 12) + rel, body: "pwned"}})},
		{"hardlink-outside", tarOf(t, []entry{{name: "x", typ: tar.TypeLink, linkname: "../../../../etc/shadow"}})},
		{"symlink-parent", tarOf(t, []entry{{name: "escape/" + rel, body: "pwned"}})},
		{"truncated", tarOf(t, []entry{{name: "big", body: strings.Repeat("A", 4096)}})[:1000]},
		{"garbage", bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 512)},
		{"over-layer-limit", tarOf(t, []entry{{name: "huge", body: strings.Repeat("B", 256<<10)}})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := ociLayout(t, base, c.layer)
			out, err := scan.Image(context.Background(), newEngine(t), dir, scan.ImageOptions{
				TempDir: t.TempDir(),
				Limits:  layerfs.Limits{MaxLayerBytes: 128 << 10},
			})
			if _, statErr := os.Lstat(canary); statErr == nil {
				os.Remove(canary)
				t.Fatalf("the layer wrote %s outside the scan directory", canary)
			}
			if err != nil {
				t.Fatalf("scan failed outright, want an incomplete result: %v", err)
			}
			res := out.Result
			if !res.Incomplete() && c.name != "symlink-parent" {
				t.Fatalf("result complete, want incomplete; packages %d", len(res.Packages))
			}
			for _, u := range res.Unknowns {
				if u.Err == "" {
					t.Errorf("unknown without a message: %+v", u)
				}
			}
			found := false
			for _, p := range res.Packages {
				found = found || p.Name == "libc6"
			}
			if !found {
				t.Errorf("the intact base layer's packages were lost: %+v", res.Packages)
			}
		})
	}
}

// TestImageExtractCache: a re-scan takes per-file results from the
// extraction cache (proved by doctoring a cached entry), and a corrupt cache
// file is a miss, not an error or a wrong answer.
func TestImageExtractCache(t *testing.T) {
	base := tarOf(t, []entry{
		{name: "etc/os-release", body: osRelease},
		{name: "var/lib/dpkg/status", body: stanza("libc6", "2.31-13+deb11u5", "glibc")},
	})
	dir := ociLayout(t, base)
	e := newEngine(t)
	cache := t.TempDir()
	scanVersion := func() string {
		t.Helper()
		out, err := scan.Image(context.Background(), e, dir, scan.ImageOptions{CacheDir: cache})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Result.Packages) != 1 {
			t.Fatalf("packages = %+v", out.Result.Packages)
		}
		return out.Result.Packages[0].Version
	}
	if v := scanVersion(); v != "2.31-13+deb11u5" {
		t.Fatalf("first scan version %s", v)
	}
	buckets, err := filepath.Glob(filepath.Join(cache, "extract", e.Key(), "*.json.gz"))
	if err != nil || len(buckets) != 1 {
		t.Fatalf("cache buckets %v, %v", buckets, err)
	}
	// Doctor the cached entry: a re-scan that reports it read the cache.
	rewrite := func(edit func(string) string) {
		t.Helper()
		f, err := os.Open(buckets[0])
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(zr)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(edit(string(data))))
		zw.Close()
		if err := os.WriteFile(buckets[0], buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rewrite(func(s string) string { return strings.ReplaceAll(s, "2.31-13+deb11u5", "0.0-from-cache") })
	if v := scanVersion(); v != "0.0-from-cache" {
		t.Fatalf("re-scan version %s: the extraction cache was not used", v)
	}
	if err := os.WriteFile(buckets[0], []byte("not gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	if v := scanVersion(); v != "2.31-13+deb11u5" {
		t.Fatalf("scan after corrupting the cache: version %s", v)
	}
}

// TestImageCompressionBombs: a layer whose compressed blob is tiny but which
// expands past the layer limit is stopped, with gzip and with zstd, and the
// result is incomplete while the base layer's packages are kept.
func TestImageCompressionBombs(t *testing.T) {
	base := tarOf(t, []entry{
		{name: "etc/os-release", body: osRelease},
		{name: "var/lib/dpkg/status", body: stanza("libc6", "2.31-13+deb11u5", "glibc")},
	})
	// 4 MiB of one byte compresses to a few KiB in either format.
	bomb := tarOf(t, []entry{{name: "bomb", body: strings.Repeat("\x00", 4<<20)}})
	for _, comp := range []compression.Compression{compression.GZip, compression.ZStd} {
		t.Run(string(comp), func(t *testing.T) {
			dir := ociLayoutCompressed(t, comp, base, bomb)
			blobs, _ := filepath.Glob(filepath.Join(dir, "blobs", "sha256", "*"))
			var stored int64
			for _, b := range blobs {
				if st, err := os.Stat(b); err == nil {
					stored += st.Size()
				}
			}
			if stored > 1<<20 {
				t.Fatalf("the bomb is not a bomb: %d bytes stored", stored)
			}
			out, err := scan.Image(context.Background(), newEngine(t), dir, scan.ImageOptions{
				TempDir: t.TempDir(),
				Limits:  layerfs.Limits{MaxLayerBytes: 1 << 20},
			})
			if err != nil {
				t.Fatalf("scan failed outright, want an incomplete result: %v", err)
			}
			if !out.Result.Incomplete() {
				t.Fatal("a layer over the limit gave a complete result")
			}
			if len(out.Result.Packages) != 1 || out.Result.Packages[0].Name != "libc6" {
				t.Errorf("packages = %+v, want the base layer's libc6", out.Result.Packages)
			}
		})
	}
}
