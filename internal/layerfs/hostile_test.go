package layerfs

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestWriteThroughSymlinkedParent checks that entries below a lower
// layer's symlink land where the symlink resolves within the root, and that
// nothing is ever created outside the image's temporary directory.
func TestWriteThroughSymlinkedParent(t *testing.T) {
	parent := t.TempDir()
	realPasswd, realErr := os.Stat("/etc/passwd")
	ls := layers(t,
		[]ent{
			dir("etc/"), reg("etc/passwd", "root:x:0:0"), reg("etc/group", "g"), sym("x", "/etc"),
			sym("y", "../../../.."), sym("z", "z2"), sym("z2", "/nonexistent/deep"),
			sym("w", "w"), reg("f", "file"), sym("lib", "usr/lib"), dir("usr/lib/"),
		},
		[]ent{
			reg("x/passwd", "evil"), reg("x/shadow", "new"), wh("x", "group"), // a whiteout through it too
			reg("y/escaped", "e"), reg("y/tmp/escaped", "e2"),
			reg("z/file", "z"),
			reg("w/f", "loop"),
			reg("f/g", "notdir"),
			reg("lib/libfoo.so", "so"),
			sym("same", "/etc"), reg("same/inner", "s"), // a symlink of the same layer
			reg("../../../../"+filepath.Base(parent)+"/escaped", "p"),
		},
	)
	img := build(t, Options{Retain: retainAll, TempDir: parent}, ls...)
	got := listing(t, img.View(1))
	diffListing(t, "View(1)", got, map[string]string{
		"etc": "d", "etc/passwd": "f:evil", "etc/shadow": "f:new", "x": "l:/etc",
		"y": "l:../../../..", "escaped": "f:e", "tmp": "d", "tmp/escaped": "f:e2",
		"z": "l:z2", "z2": "l:/nonexistent/deep", "nonexistent": "d", "nonexistent/deep": "d", "nonexistent/deep/file": "f:z",
		"w": "l:w", "f": "f:file", "lib": "l:usr/lib", "usr": "d", "usr/lib": "d", "usr/lib/libfoo.so": "f:so",
		"same": "l:/etc",
	})
	wantProblem(t, img, ErrTooManyLinks, "w")
	wantProblem(t, img, ErrNotDir, "f")
	wantProblem(t, img, ErrNotDir, "same/inner")
	wantProblem(t, img, ErrEscape, "../../../../"+filepath.Base(parent)+"/escaped")
	if n := len(img.Problems()); n != 4 {
		t.Errorf("problems: %v", img.Problems())
	}
	if w := img.Writers("etc/passwd"); !slices.Equal(w, []int{0, 1}) {
		t.Errorf("Writers(etc/passwd) = %v", w)
	}
	if w := img.Writers("x/passwd"); !slices.Equal(w, []int{0, 1}) {
		t.Errorf("Writers(x/passwd) = %v", w)
	}
	// The view of layer 0 is unchanged.
	if b, err := fs.ReadFile(img.View(0), "x/passwd"); err != nil || string(b) != "root:x:0:0" {
		t.Errorf("View(0) x/passwd = %q, %v", b, err)
	}

	// Nothing outside the temporary directory.
	if realErr == nil {
		now, err := os.Stat("/etc/passwd")
		if err != nil || now.Size() != realPasswd.Size() || !now.ModTime().Equal(realPasswd.ModTime()) {
			t.Errorf("/etc/passwd changed")
		}
	}
	for _, p := range []string{"/escaped", "/nonexistent/deep", filepath.Join(parent, "escaped"), filepath.Join(filepath.Dir(parent), "escaped")} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s exists", p)
		}
	}
	entries := dirList(t, parent)
	tmp := filepath.Base(img.tmpDir)
	name := regexp.MustCompile(`^` + regexp.QuoteMeta(tmp) + `(/layer-\d{4}\.data)?$`)
	for _, e := range entries {
		if !name.MatchString(e) {
			t.Errorf("unexpected file %s in the temp parent", e)
		}
	}
	if !slices.Contains(entries, tmp+"/layer-0000.data") || !slices.Contains(entries, tmp+"/layer-0001.data") {
		t.Errorf("temp parent holds %v", entries)
	}
	if err := img.Close(); err != nil {
		t.Fatal(err)
	}
	if e := dirList(t, parent); len(e) != 0 {
		t.Errorf("Close left %v", e)
	}
}

func TestTruncatedAndGarbage(t *testing.T) {
	good := tarBytes(t, reg("a", "aaaa"), reg("b", strings.Repeat("b", 2000)), reg("c", "c"))
	garbage := make([]byte, 4096)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range garbage {
		garbage[i] = byte(r.Uint32())
	}
	for _, tc := range []struct {
		name string
		data []byte
		want map[string]string
	}{
		{"mid-content", good[:512+512+512+1000], map[string]string{"a": "f:aaaa", "b": "f#2000"}},
		{"mid-header", good[:512+512+100], map[string]string{"a": "f:aaaa"}},
		{"no-end-marker", good[:len(good)-1024], map[string]string{"a": "f:aaaa", "b": "f:" + strings.Repeat("b", 2000), "c": "f:c"}},
		{"garbage", garbage, map[string]string{}},
		{"garbage-after", append(slices.Clone(good[:512+512]), garbage...), map[string]string{"a": "f:aaaa"}},
		{"empty", nil, map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := build(t, Options{Retain: retainAll}, &layer{data: tc.data})
			diffListing(t, "view", listing(t, img.View(0)), tc.want)
			ps := img.Problems()
			switch tc.name {
			case "empty", "no-end-marker":
				if len(ps) != 0 {
					t.Errorf("problems: %v", ps)
				}
			default:
				if len(ps) != 1 || !errors.Is(ps[0], ErrCorrupt) || ps[0].Layer != digestOf(tc.data) {
					t.Errorf("problems: %v", ps)
				}
			}
		})
	}
}

func TestHugePAXHeader(t *testing.T) {
	before := tarBytes(t, reg("before", "b"))
	data := slices.Concat(before[:len(before)-1024], paxHeader("VIGIL.junk="+strings.Repeat("j", 2<<20)), tarBytes(t, reg("after", "a")))
	img := build(t, Options{Retain: retainAll}, &layer{data: data})
	diffListing(t, "view", listing(t, img.View(0)), map[string]string{"before": "f:b"})
	wantProblem(t, img, tar.ErrFieldTooLong, "")
	wantProblem(t, img, ErrCorrupt, "")
}

// zeros is an endless stream of zero bytes.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	clear(p)
	z.n += int64(len(p))
	return len(p), nil
}
func (z *zeros) Close() error { return nil }

func TestLayerStreamTooBig(t *testing.T) {
	const limit = 8 << 20
	hdr := tarBytes(t, reg("first", "1"))
	hdr = hdr[:1024] // one entry, no end marker
	var big bytes.Buffer
	tw := tar.NewWriter(&big)
	tw.WriteHeader(&tar.Header{Name: "huge", Typeflag: tar.TypeReg, Size: 1 << 40, Mode: 0o644})
	for _, tc := range []struct {
		name   string
		prefix []byte
		want   map[string]string
	}{
		{"endless-zeros", nil, map[string]string{}},
		{"after-an-entry", hdr, map[string]string{"first": "f:1"}},
		{"huge-entry", big.Bytes(), map[string]string{"huge": "f#1099511627776"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z := &zeros{}
			img, err := New(Options{TempDir: t.TempDir(), Retain: retainAll, Limits: Limits{MaxLayerBytes: limit}})
			if err != nil {
				t.Fatal(err)
			}
			defer img.Close()
			open := func() (io.ReadCloser, error) {
				return struct {
					io.Reader
					io.Closer
				}{io.MultiReader(bytes.NewReader(tc.prefix), z), z}, nil
			}
			if err := img.AddLayer(context.Background(), "sha256:"+strings.Repeat("0", 64), open); err != nil {
				t.Fatal(err)
			}
			wantProblem(t, img, ErrLimit, "")
			if z.n > 2*limit {
				t.Errorf("read %d bytes of zeros, limit %d", z.n, limit)
			}
			diffListing(t, "view", listing(t, img.View(0)), tc.want)
		})
	}
}

// paxHeader returns a raw PAX extended header with the given records,
// which archive/tar refuses to write when they are huge or GNU sparse ones.
func paxHeader(records ...string) []byte {
	var pax []byte
	for _, rec := range records {
		// "%d %s\n": the length counts itself.
		n := len(rec) + 3
		for len(fmt.Sprintf("%d %s\n", n, rec)) != n {
			n++
		}
		pax = fmt.Appendf(pax, "%d %s\n", n, rec)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "PaxHeaders/x", Typeflag: tar.TypeReg, Size: int64(len(pax)), Format: tar.FormatUSTAR})
	tw.Write(pax)
	tw.Flush()
	b := buf.Bytes()
	b[156] = tar.TypeXHeader
	copy(b[148:156], "        ")
	var sum int64
	for _, c := range b[:512] {
		sum += int64(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

// sparseTar builds a PAX GNU sparse 1.0 entry of the given logical size
// holding no data.
func sparseTar(t *testing.T, name string, realSize int64) []byte {
	var buf bytes.Buffer
	buf.Write(paxHeader("GNU.sparse.major=1", "GNU.sparse.minor=0", "GNU.sparse.name="+name, fmt.Sprintf("GNU.sparse.realsize=%d", realSize)))
	tw := tar.NewWriter(&buf)
	sparseMap := "0\n" // no data fragments
	tw.WriteHeader(&tar.Header{Name: "GNUSparseFile.0/" + name, Typeflag: tar.TypeReg, Size: 512, Format: tar.FormatUSTAR, Mode: 0o644})
	tw.Write(append([]byte(sparseMap), make([]byte, 512-len(sparseMap))...))
	tw.Close()
	return buf.Bytes()
}

func TestSparseEntry(t *testing.T) {
	data := sparseTar(t, "holes", 1<<40)
	img := build(t, Options{Retain: retainAll}, &layer{data: data})
	fi, err := fs.Stat(img.View(0), "holes")
	if err != nil || fi.Size() != 1<<40 {
		t.Fatalf("Stat = %v, %v", fi, err)
	}
	wantProblem(t, img, ErrLimit, "holes") // over MaxFileBytes, not read
	if len(img.Problems()) != 1 {
		t.Errorf("problems: %v", img.Problems())
	}

	// Expanding holes counts against MaxRetainedBytes.
	img = build(t, Options{Retain: retainAll, Limits: Limits{MaxFileBytes: 1 << 41, MaxRetainedBytes: 1 << 20}}, &layer{data: data})
	wantProblem(t, img, ErrLimit, "holes")

	// A small sparse file is expanded.
	img = build(t, Options{Retain: retainAll}, &layer{data: sparseTar(t, "small", 1000)})
	if b, err := fs.ReadFile(img.View(0), "small"); err != nil || !bytes.Equal(b, make([]byte, 1000)) {
		t.Errorf("ReadFile(small) = %d bytes, %v", len(b), err)
	}
	wantNoProblems(t, img)
}

func TestFileOverLimits(t *testing.T) {
	ls := layers(t, []ent{reg("big", strings.Repeat("x", 5000)), reg("small", "ok"), reg("mid1", strings.Repeat("m", 600)), reg("mid2", strings.Repeat("n", 600))})
	img := build(t, Options{Retain: retainAll, Limits: Limits{MaxFileBytes: 1024, MaxRetainedBytes: 1000}}, ls...)
	diffListing(t, "view", listing(t, img.View(0)), map[string]string{
		"big": "f#5000", "small": "f:ok", "mid1": "f:" + strings.Repeat("m", 600), "mid2": "f#600",
	})
	wantProblem(t, img, ErrLimit, "big")
	wantProblem(t, img, ErrLimit, "mid2")
}

func TestEntryLimits(t *testing.T) {
	var ents []ent
	for i := range 50 {
		ents = append(ents, reg(fmt.Sprintf("d%d/f", i), "x"))
	}
	l := &layer{data: tarBytes(t, ents...)}
	img := build(t, Options{Limits: Limits{MaxEntries: 21}}, l)
	if got := len(listing(t, img.View(0))); got != 20 {
		t.Errorf("indexed %d entries, want 20", got)
	}
	wantProblem(t, img, ErrLimit, "d10")

	img = build(t, Options{Limits: Limits{MaxEntries: 60, MaxImageEntries: 80}}, l, l)
	if got := len(listing(t, img.View(1))); got != 60 {
		t.Errorf("indexed %d entries, want 60", got)
	}
	if ps := problemsMatching(img, ErrLimit); len(ps) != 2 || !strings.Contains(ps[1].Error(), "MaxImageEntries") {
		t.Errorf("problems: %v", img.Problems())
	}
}

func TestNameAndTargetCosts(t *testing.T) {
	long := strings.Repeat("n", 256)
	ls := layers(t, []ent{
		reg(long, "x"), reg("d/"+long+"/f", "y"), reg(strings.Repeat("m", 255), "ok"),
		sym("far", strings.Repeat("a/", 1000)), // 2000 bytes: 8 more entries
	})
	img := build(t, Options{Limits: Limits{MaxEntries: 11}}, ls...)
	diffListing(t, "view", listing(t, img.View(0)), map[string]string{
		strings.Repeat("m", 255): "f#2", "far": "l:" + strings.Repeat("a/", 1000),
	})
	wantProblem(t, img, ErrLimit, long)
	wantProblem(t, img, ErrLimit, "d/"+long+"/f")
	if n := len(img.Problems()); n != 2 {
		t.Errorf("problems: %v", img.Problems())
	}
	img = build(t, Options{Limits: Limits{MaxEntries: 10}}, ls...)
	if _, err := fs.Lstat(img.View(0), "far"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a link over the entry budget was indexed: %v", err)
	}
	wantProblem(t, img, ErrLimit, "far")
}

func TestManyDuplicates(t *testing.T) {
	const n = 20000
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		for round := range 3 {
			for i := range n {
				body := fmt.Sprint(round)
				tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("dir/f%05d", i), Typeflag: tar.TypeReg, Size: int64(len(body)), Mode: 0o644})
				io.WriteString(tw, body)
			}
		}
		pw.CloseWithError(tw.Close())
	}()
	img := build(t, Options{Retain: func(name string, _ fs.FileInfo) bool { return name == "dir/f00007" }})
	start := time.Now()
	if err := img.AddLayer(context.Background(), "dups", func() (io.ReadCloser, error) { return pr, nil }); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("%d duplicates took %v", 2*n, d)
	}
	es, err := fs.ReadDir(img.View(0), "dir")
	if err != nil || len(es) != n {
		t.Fatalf("ReadDir = %d entries, %v", len(es), err)
	}
	if b, err := fs.ReadFile(img.View(0), "dir/f00007"); err != nil || string(b) != "2" {
		t.Errorf("ReadFile = %q, %v; want the last duplicate", b, err)
	}
	wantNoProblems(t, img)
}

func TestContextCancelled(t *testing.T) {
	img, err := New(Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	ctx, cancel := context.WithCancel(context.Background())
	open := func() (io.ReadCloser, error) {
		cancel()
		return &zeros{}, nil
	}
	if err := img.AddLayer(ctx, "x", open); !errors.Is(err, context.Canceled) {
		t.Fatalf("AddLayer = %v, want context.Canceled", err)
	}
	if img.LayerCount() != 0 {
		t.Errorf("a cancelled layer was added")
	}
}

func TestOpenFails(t *testing.T) {
	img := build(t, Options{})
	boom := errors.New("boom")
	if err := img.AddLayer(context.Background(), "layer", func() (io.ReadCloser, error) { return nil, boom }); err != nil {
		t.Fatal(err)
	}
	if ps := img.Problems(); len(ps) != 1 || !errors.Is(ps[0], boom) || ps[0].Layer != "layer" {
		t.Errorf("problems: %v", ps)
	}
	if img.LayerCount() != 1 {
		t.Errorf("LayerCount = %d", img.LayerCount())
	}
	if err := img.Close(); err != nil {
		t.Fatal(err)
	}
	if err := img.AddLayer(context.Background(), "x", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("AddLayer after Close = %v", err)
	}
}

func TestDigestMismatch(t *testing.T) {
	img := build(t, Options{})
	l := &layer{data: tarBytes(t, reg("a", "a"))}
	if err := img.AddLayer(context.Background(), digestOf([]byte("other")), l.open); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, img, ErrDigest, "")
}

func TestNewErrors(t *testing.T) {
	for _, opts := range []Options{
		{Limits: Limits{MaxEntries: -1}},
		{CacheDir: t.TempDir(), Retain: retainAll},
		{TempDir: filepath.Join(t.TempDir(), "missing", "dir")},
	} {
		if img, err := New(opts); err == nil {
			img.Close()
			t.Errorf("New(%+v) succeeded", opts)
		}
	}
}
