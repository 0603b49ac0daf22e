package layerfs

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"testing"
	"time"
	"unsafe"
)

// manyFiles streams a layer of dirs×files empty regular files, generated
// as it is read.
func manyFiles(dirs, files int) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() {
			tw := tar.NewWriter(pw)
			hdr := &tar.Header{Typeflag: tar.TypeReg, Mode: 0o644, ModTime: testTime}
			for d := range dirs {
				for f := range files {
					hdr.Name = fmt.Sprintf("usr/share/d%04d/file-%06d.txt", d, f)
					if err := tw.WriteHeader(hdr); err != nil {
						pw.CloseWithError(err)
						return
					}
				}
			}
			pw.CloseWithError(tw.Close())
		}()
		return pr, nil
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestMillionEntries indexes a layer of 1,000,000 files and measures the
// memory the index keeps.
func TestMillionEntries(t *testing.T) {
	if testing.Short() {
		t.Skip("indexes 1,000,000 entries (about 15 s); skipped with -short")
	}
	const dirs, files = 1000, 1000
	before := heapInUse()
	start := time.Now()
	img := build(t, Options{})
	if err := img.AddLayer(context.Background(), "generated", manyFiles(dirs, files)); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	after := heapInUse()
	perEntry := float64(after-before) / float64(dirs*files+dirs+2)
	t.Logf("indexed %d entries in %v; heap %.1f MiB, %.0f bytes per entry",
		dirs*files, elapsed.Round(time.Millisecond), float64(after-before)/(1<<20), perEntry)
	wantNoProblems(t, img)
	if perEntry > 160 {
		t.Errorf("%.0f bytes per entry, want at most 160", perEntry)
	}
	v := img.View(0)
	if fi, err := fs.Stat(v, "usr/share/d0999/file-000999.txt"); err != nil || fi.Size() != 0 {
		t.Errorf("Stat = %v, %v", fi, err)
	}
	es, err := fs.ReadDir(v, "usr/share")
	if err != nil || len(es) != dirs {
		t.Errorf("ReadDir(usr/share) = %d entries, %v", len(es), err)
	}
	if w := img.Writers("usr/share/d0500/file-000500.txt"); len(w) != 1 || w[0] != 0 {
		t.Errorf("Writers = %v", w)
	}
	runtime.KeepAlive(img)
}

// TestNodeSize guards the per-entry memory doc.go documents.
func TestNodeSize(t *testing.T) {
	if s := unsafe.Sizeof(node{}); s != 56 {
		t.Errorf("node is %d bytes, doc.go says 56", s)
	}
}

// BenchmarkAddLayer indexes a 100,000-file layer per iteration and reports
// the heap its index keeps per entry.
func BenchmarkAddLayer(b *testing.B) {
	const dirs, files = 100, 1000
	open := manyFiles(dirs, files)
	var perEntry float64
	for b.Loop() {
		before := heapInUse()
		img, err := New(Options{TempDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		if err := img.AddLayer(context.Background(), "generated", open); err != nil {
			b.Fatal(err)
		}
		perEntry = float64(heapInUse()-before) / (dirs*files + dirs)
		img.Close()
	}
	b.ReportMetric(perEntry, "B/entry")
}
