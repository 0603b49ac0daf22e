package layerfs

import (
	"archive/tar"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// layered is inventory.Layered, restated to keep the package free of that
// import.
type layered interface {
	LayerCount() int
	LayerDiffID(i int) string
	View(i int) fs.FS
	Writers(name string) []int
}

var _ layered = (*Image)(nil)

func TestWhiteoutsAndOpaqueAcrossLayers(t *testing.T) {
	ls := layers(t,
		[]ent{
			dir("etc/"), reg("etc/passwd", "root"), reg("etc/group", "g0"),
			reg("usr/bin/a", "a"), reg("usr/bin/b", "b"),
			reg("opt/x/1", "1"), reg("opt/x/2", "2"), reg("var/y", "y"), reg("keep", "k"),
		},
		[]ent{
			wh("etc", "group"), opq("opt/x"), reg("opt/x/3", "3"), reg("usr/bin/c", "c"),
			wh("var", "y"), dir("var/y/"), reg("var/y/z", "z"), wh("", "nothing-there"),
			reg("same", "s"), wh("", "same"), // a whiteout never hides its own layer
		},
		[]ent{
			wh("", "usr"), reg("usr/lib/q", "q"), reg("etc/group", "g2"),
			wh("opt/x", "3"), reg("opt/x/4", "4"),
		},
	)
	img := build(t, Options{Retain: retainAll}, ls...)
	wantNoProblems(t, img)
	want := []map[string]string{
		{
			"etc": "d", "etc/passwd": "f:root", "etc/group": "f:g0",
			"usr": "d", "usr/bin": "d", "usr/bin/a": "f:a", "usr/bin/b": "f:b",
			"opt": "d", "opt/x": "d", "opt/x/1": "f:1", "opt/x/2": "f:2",
			"var": "d", "var/y": "f:y", "keep": "f:k",
		},
		{
			"etc": "d", "etc/passwd": "f:root",
			"usr": "d", "usr/bin": "d", "usr/bin/a": "f:a", "usr/bin/b": "f:b", "usr/bin/c": "f:c",
			"opt": "d", "opt/x": "d", "opt/x/3": "f:3",
			"var": "d", "var/y": "d", "var/y/z": "f:z", "keep": "f:k", "same": "f:s",
		},
		{
			"etc": "d", "etc/passwd": "f:root", "etc/group": "f:g2",
			"usr": "d", "usr/lib": "d", "usr/lib/q": "f:q",
			"opt": "d", "opt/x": "d", "opt/x/4": "f:4",
			"var": "d", "var/y": "d", "var/y/z": "f:z", "keep": "f:k", "same": "f:s",
		},
	}
	if img.LayerCount() != len(want) {
		t.Fatalf("LayerCount = %d", img.LayerCount())
	}
	for i, w := range want {
		diffListing(t, fmt.Sprintf("View(%d)", i), listing(t, img.View(i)), w)
		if got := img.LayerDiffID(i); got != ls[i].diffID() {
			t.Errorf("LayerDiffID(%d) = %q", i, got)
		}
	}
}

func TestViewOutOfRange(t *testing.T) {
	img := build(t, Options{}, layers(t, []ent{reg("a", "a")})...)
	for _, i := range []int{-1, 1, 99} {
		if _, err := fs.Stat(img.View(i), "."); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("View(%d): Stat = %v, want ErrInvalid", i, err)
		}
	}
	if img.LayerDiffID(5) != "" {
		t.Error("LayerDiffID out of range not empty")
	}
}

func TestReplacement(t *testing.T) {
	ls := layers(t,
		[]ent{
			reg("a", "a"), dir("b/"), reg("b/inner", "i"), sym("c", "b"),
			dir("d/"), reg("d/f", "f"), reg("e", "e"),
		},
		[]ent{
			dir("a/"), reg("a/new", "n"), // file -> dir
			reg("b", "bfile"),          // dir -> file
			dir("c/"), reg("c/x", "x"), // explicit dir replaces a symlink
			sym("d", "a"),                  // dir -> symlink
			reg("e", "e1"), reg("e", "e2"), // last of the layer wins
			dir("g/"), reg("g/h", "h"), reg("g", "gfile"), // same-layer dir -> file
		},
		[]ent{reg("e/sub", "s")}, // below a lower file: rejected
	)
	img := build(t, Options{Retain: retainAll}, ls...)
	diffListing(t, "View(1)", listing(t, img.View(1)), map[string]string{
		"a": "d", "a/new": "f:n", "b": "f:bfile", "c": "d", "c/x": "f:x",
		"d": "l:a", "e": "f:e2", "g": "f:gfile",
	})
	diffListing(t, "View(2)", listing(t, img.View(2)), listing(t, img.View(1)))
	wantProblem(t, img, ErrNotDir, "e")
	if n := len(img.Problems()); n != 1 {
		t.Errorf("problems = %v, want 1", img.Problems())
	}
}

func TestImpliedDirectories(t *testing.T) {
	ls := layers(t,
		[]ent{dir("etc/").withMode(0o700)},
		[]ent{reg("etc/ssl/certs/ca.pem", "pem"), reg("deep/a/b/c", "c")},
	)
	img := build(t, Options{Retain: retainAll}, ls...)
	v := img.View(1)
	for _, tc := range []struct {
		name string
		mode fs.FileMode
	}{
		{"etc", fs.ModeDir | 0o700}, // the lower directory's metadata survives
		{"etc/ssl", fs.ModeDir | 0o755},
		{"deep/a/b", fs.ModeDir | 0o755},
		{".", fs.ModeDir | 0o755},
	} {
		fi, err := fs.Stat(v, tc.name)
		if err != nil || fi.Mode() != tc.mode || !fi.IsDir() {
			t.Errorf("Stat(%q) = %v, %v; want mode %v", tc.name, fi, err, tc.mode)
		}
	}
	entries, err := fs.ReadDir(v, "deep/a/b")
	if err != nil || len(entries) != 1 || entries[0].Name() != "c" {
		t.Errorf("ReadDir = %v, %v", entries, err)
	}
}

func TestStatFromHeader(t *testing.T) {
	ls := layers(t, []ent{exe("bin/tool", "12345").withMode(0o4755), reg("notkept", "xyz")})
	img := build(t, Options{Retain: func(name string, fi fs.FileInfo) bool { return name == "bin/tool" }}, ls...)
	v := img.View(0)
	fi, err := fs.Stat(v, "bin/tool")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Name() != "tool" || fi.Size() != 5 || fi.Mode() != fs.ModeSetuid|0o755 || !fi.ModTime().Equal(testTime) {
		t.Errorf("Stat = %v size %d mode %v time %v", fi.Name(), fi.Size(), fi.Mode(), fi.ModTime())
	}
	if _, err := v.Open("notkept"); !errors.Is(err, ErrNotRetained) {
		t.Errorf("Open(notkept) = %v, want ErrNotRetained", err)
	}
	if fi, err := fs.Stat(v, "notkept"); err != nil || fi.Size() != 3 {
		t.Errorf("Stat(notkept) = %v, %v", fi, err)
	}
	f, err := v.Open("bin/tool")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 3)
	if n, err := f.(interface {
		ReadAt([]byte, int64) (int, error)
	}).ReadAt(buf, 2); err != nil || string(buf[:n]) != "345" {
		t.Errorf("ReadAt = %q, %v", buf[:n], err)
	}
}

func TestRetainArguments(t *testing.T) {
	ls := layers(t, []ent{reg("/var/lib/dpkg/status", "pkgs"), dev("dev/null", tar.TypeChar), sym("s", "x"), dir("d/")})
	var seen []string
	img := build(t, Options{Retain: func(name string, fi fs.FileInfo) bool {
		seen = append(seen, fmt.Sprintf("%s %s %d", name, fi.Name(), fi.Size()))
		return true
	}}, ls...)
	if want := []string{"var/lib/dpkg/status status 4"}; !slices.Equal(seen, want) {
		t.Errorf("Retain saw %q, want %q", seen, want)
	}
	wantNoProblems(t, img)
}

func TestDevicesAndFifos(t *testing.T) {
	ls := layers(t, []ent{dev("dev/null", tar.TypeChar), dev("dev/sda", tar.TypeBlock), dev("run/fifo", tar.TypeFifo)})
	img := build(t, Options{Retain: retainAll}, ls...)
	v := img.View(0)
	diffListing(t, "view", listing(t, v), map[string]string{
		"dev": "d", "run": "d", "dev/null": "c", "dev/sda": "b", "run/fifo": "p",
	})
	for _, name := range []string{"dev/null", "dev/sda", "run/fifo"} {
		if _, err := v.Open(name); !errors.Is(err, ErrNotRetained) {
			t.Errorf("Open(%s) = %v, want ErrNotRetained", name, err)
		}
	}
	if dl := dirList(t, img.tmpDir); len(dl) != 0 {
		t.Errorf("devices retained: %v", dl)
	}
}

func TestHardlinks(t *testing.T) {
	ls := layers(t,
		[]ent{reg("bin/perl", "PERL"), reg("lib/data", "D")},
		[]ent{
			hard("usr/bin/perl5", "bin/perl"),                          // to a lower layer
			reg("own", "O"), hard("own2", "own"), hard("own3", "own2"), // same layer, and a chain
			hard("abs", "/lib/data"),                                  // absolute name, lower layer
			hard("esc", "../../etc/passwd"),                           // outside the root
			hard("missing", "nope"),                                   // no target
			hard("todir", "bin"),                                      // a directory
			hard("later", "defined-later"), reg("defined-later", "L"), // tar order matters
		},
	)
	img := build(t, Options{Retain: retainAll}, ls...)
	diffListing(t, "View(1)", listing(t, img.View(1)), map[string]string{
		"bin": "d", "bin/perl": "f:PERL", "lib": "d", "lib/data": "f:D",
		"usr": "d", "usr/bin": "d", "usr/bin/perl5": "f:PERL",
		"own": "f:O", "own2": "f:O", "own3": "f:O", "abs": "f:D", "defined-later": "f:L",
	})
	wantProblem(t, img, ErrEscape, "esc")
	wantProblem(t, img, fs.ErrNotExist, "missing")
	wantProblem(t, img, fs.ErrNotExist, "later")
	wantProblem(t, img, fs.ErrInvalid, "todir")
	if n := len(img.Problems()); n != 4 {
		t.Errorf("problems: %v", img.Problems())
	}
	if got := img.Writers("usr/bin/perl5"); !slices.Equal(got, []int{1}) {
		t.Errorf("Writers(usr/bin/perl5) = %v", got)
	}
}

func TestHardlinkContentSecondPass(t *testing.T) {
	want := func(name string, _ fs.FileInfo) bool { return strings.HasPrefix(name, "want/") }
	l := &layer{data: tarBytes(t,
		reg("store/blob", "CONTENT"), hard("want/link", "store/blob"), reg("other", "o"),
		reg("store/two", "TWO"), hard("mid", "store/two"), hard("want/chain", "mid"), // a link to a link
	)}
	img := build(t, Options{Retain: want}, l)
	wantNoProblems(t, img)
	for name, content := range map[string]string{"want/link": "CONTENT", "want/chain": "TWO"} {
		if b, err := fs.ReadFile(img.View(0), name); err != nil || string(b) != content {
			t.Errorf("ReadFile(%s) = %q, %v", name, b, err)
		}
	}
	if _, err := img.View(0).Open("store/blob"); !errors.Is(err, ErrNotRetained) {
		t.Errorf("Open(store/blob) = %v, want ErrNotRetained", err)
	}
	if n := l.opens.Load(); n != 2 {
		t.Errorf("opened %d times, want 2", n)
	}

	// Across layers the content cannot be read again.
	ls := layers(t, []ent{reg("store/x", "X")}, []ent{hard("want/x", "store/x")})
	img = build(t, Options{Retain: want}, ls...)
	wantProblem(t, img, ErrNotRetained, "want/x")
	if _, err := img.View(1).Open("want/x"); !errors.Is(err, ErrNotRetained) {
		t.Errorf("Open(want/x) = %v", err)
	}
}

func TestSymlinks(t *testing.T) {
	ents := []ent{
		dir("etc/"), reg("etc/passwd", "root"),
		sym("abs", "/etc/passwd"),
		sym("bin/rel", "../etc/passwd"),
		sym("up", "../../../../../etc/passwd"), // ".." stops at the root
		sym("loop1", "loop2"), sym("loop2", "/loop1"),
		sym("self", "self"),
		sym("dangling", "nowhere"),
		sym("empty", ""),
		sym("etcdir", "/etc"),
		sym("rootlink", "/"),
		sym("dotdot", ".."),
		sym("through", "etc/passwd/x"),
	}
	for i := range 45 {
		ents = append(ents, sym(fmt.Sprintf("long%d", i), fmt.Sprintf("long%d", i+1)))
	}
	ents = append(ents, sym("long45", "etc/passwd"))
	for i := range 10 {
		ents = append(ents, sym(fmt.Sprintf("short%d", i), fmt.Sprintf("short%d", i+1)))
	}
	ents = append(ents, sym("short10", "etc/passwd"))
	img := build(t, Options{Retain: retainAll}, layers(t, ents)...)
	v := img.View(0)
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"abs", nil},
		{"bin/rel", nil},
		{"up", nil},
		{"etcdir/passwd", nil},
		{"rootlink/etc/passwd", nil},
		{"rootlink/rootlink/rootlink/etc/passwd", nil},
		{"dotdot/etc/passwd", nil},
		{"short0", nil},
		{"loop1", ErrTooManyLinks},
		{"loop1/x", ErrTooManyLinks},
		{"self", ErrTooManyLinks},
		{"long0", ErrTooManyLinks},
		{"dangling", fs.ErrNotExist},
		{"empty", fs.ErrNotExist},
		{"through", ErrNotDir},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := fs.ReadFile(v, tc.name)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Errorf("ReadFile = %q, %v; want %v", b, err, tc.err)
				}
				var pe *fs.PathError
				if !errors.As(err, &pe) {
					t.Errorf("error %T is not a *fs.PathError", err)
				}
				return
			}
			if err != nil || string(b) != "root" {
				t.Errorf("ReadFile = %q, %v", b, err)
			}
		})
	}
	if fi, err := fs.Stat(v, "etcdir"); err != nil || !fi.IsDir() {
		t.Errorf("Stat(etcdir) = %v, %v", fi, err)
	}
	if fi, err := fs.Lstat(v, "etcdir"); err != nil || fi.Mode().Type() != fs.ModeSymlink {
		t.Errorf("Lstat(etcdir) = %v, %v", fi, err)
	}
	if s, err := fs.ReadLink(v, "abs"); err != nil || s != "/etc/passwd" {
		t.Errorf("ReadLink(abs) = %q, %v", s, err)
	}
	if _, err := fs.ReadLink(v, "etc/passwd"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("ReadLink(regular) = %v", err)
	}
	if es, err := fs.ReadDir(v, "etcdir"); err != nil || len(es) != 1 || es[0].Name() != "passwd" {
		t.Errorf("ReadDir(etcdir) = %v, %v", es, err)
	}
	// WalkDir lists symlinks without following them (rootlink and dotdot
	// would otherwise loop).
	got := listing(t, v)
	if got["rootlink"] != "l:/" || got["dotdot"] != "l:.." {
		t.Errorf("walk: rootlink %q dotdot %q", got["rootlink"], got["dotdot"])
	}
	for p := range got {
		if strings.HasPrefix(p, "rootlink/") || strings.HasPrefix(p, "etcdir/") {
			t.Errorf("walk followed a symlink: %s", p)
		}
	}
	wantNoProblems(t, img)
}

func TestInvalidViewNames(t *testing.T) {
	img := build(t, Options{Retain: retainAll}, layers(t, []ent{reg("etc/passwd", "root")})...)
	v := img.View(0)
	for _, name := range []string{"/etc/passwd", "../etc/passwd", "etc/../etc/passwd", "etc/", ""} {
		if _, err := v.Open(name); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("Open(%q) = %v, want ErrInvalid", name, err)
		}
	}
}

func TestEntryNames(t *testing.T) {
	ls := layers(t, []ent{
		dir("./"),
		reg("../evil", "e"),
		reg("/abs/file", "a"),
		reg("a/../../b", "b"),
		reg("./ok", "ok"),
		reg("//double//slash", "d"),
		reg("a/./b/../c", "c"),
		reg("/../x", "x"),
		sym("link", "../../.."),
		hard("hl", "/../../etc/passwd"),
		reg(strings.Repeat("n/", 2100)+"f", "long"),
		wh("", "."),
		reg("bad\xffname", "not UTF-8"),
	})
	img := build(t, Options{Retain: retainAll}, ls...)
	diffListing(t, "view", listing(t, img.View(0)), map[string]string{
		"abs": "d", "abs/file": "f:a", "ok": "f:ok", "double": "d", "double/slash": "f:d",
		"a": "d", "a/c": "f:c", "link": "l:../../..",
	})
	for _, p := range []string{"../evil", "a/../../b", "/../x", "hl"} {
		wantProblem(t, img, ErrEscape, p)
	}
	wantProblem(t, img, fs.ErrInvalid, "bad\xffname")
	if len(problemsMatching(img, ErrLimit)) != 1 || len(problemsMatching(img, fs.ErrInvalid)) != 2 {
		t.Errorf("problems: %v", img.Problems())
	}
	// The link resolves within the root.
	if fi, err := fs.Stat(img.View(0), "link/abs/file"); err != nil || fi.Size() != 1 {
		t.Errorf("Stat(link/abs/file) = %v, %v", fi, err)
	}
}

func TestWriters(t *testing.T) {
	ls := layers(t,
		[]ent{reg("a", "0"), reg("b", "b"), reg("c/f", "c0"), reg("d", "d0"), reg("e", "e0"), sym("s", "b"), reg("g/h", "g0")},
		[]ent{reg("a", "1"), wh("", "d"), reg("d", "d1"), reg("e", "e1"), sym("g", "b")},
		[]ent{wh("", "a"), opq("c"), reg("c/f", "c2")},
		[]ent{reg("a", "3"), reg("e", "e3"), dir("g/"), reg("g/h", "g3")},
		[]ent{reg("a", "4")},
	)
	img := build(t, Options{}, ls...)
	wantNoProblems(t, img)
	for _, tc := range []struct {
		name string
		want []int
	}{
		{"a", []int{3, 4}},    // deleted in 2
		{"b", []int{0}},       // untouched
		{"c/f", []int{2}},     // hidden by an opaque directory, rewritten
		{"d", []int{1}},       // deleted and recreated in one layer
		{"e", []int{0, 1, 3}}, // overwritten
		{"g/h", []int{3}},     // its directory was a symlink in 1
		{"s", nil},            // a symlink
		{"c", nil},            // a directory
		{"nope", nil},
		{"/a", nil},
	} {
		if got := img.Writers(tc.name); !slices.Equal(got, tc.want) {
			t.Errorf("Writers(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := (&Image{}).Writers("a"); got != nil {
		t.Errorf("Writers on an empty image = %v", got)
	}
}

func TestFSConformance(t *testing.T) {
	ls := layers(t,
		[]ent{dir("etc/"), reg("etc/passwd", "root"), reg("usr/bin/a", "aa"), sym("bin", "usr/bin"), reg("old", "x")},
		[]ent{wh("", "old"), reg("usr/lib/os-release", "ID=test"), sym("etc/os-release", "../usr/lib/os-release"), dir("empty/")},
	)
	img := build(t, Options{Retain: retainAll}, ls...)
	if err := fstest.TestFS(img.View(1), "etc/passwd", "usr/bin/a", "usr/lib/os-release", "etc/os-release", "bin", "empty"); err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(img.View(0), "etc/passwd", "usr/bin/a", "old"); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentReads reads views while layers are added (run with -race).
func TestConcurrentReads(t *testing.T) {
	ls := layers(t,
		[]ent{reg("etc/passwd", "root"), sym("x", "/etc")},
		[]ent{reg("x/group", "g"), reg("a", "a")},
		[]ent{wh("", "a"), reg("b", "b")},
	)
	img := build(t, Options{Retain: retainAll}, ls[0])
	done := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		defer close(errs)
		for {
			select {
			case <-done:
				return
			default:
			}
			n := img.LayerCount()
			if b, err := fs.ReadFile(img.View(n-1), "x/passwd"); err != nil || string(b) != "root" {
				errs <- fmt.Errorf("ReadFile = %q, %v", b, err)
				return
			}
			img.Writers("etc/passwd")
			img.Problems()
		}
	}()
	for _, l := range ls[1:] {
		if err := img.AddLayer(t.Context(), l.diffID(), l.open); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	if err := <-errs; err != nil {
		t.Error(err)
	}
	diffListing(t, "final", listing(t, img.View(2)), map[string]string{
		"etc": "d", "etc/passwd": "f:root", "etc/group": "f:g", "x": "l:/etc", "b": "f:b",
	})
}
