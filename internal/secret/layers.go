package secret

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
)

// LayerSource is one image layer to scan.
type LayerSource struct {
	DiffID    string
	Index     int // bottom layer 0
	CreatedBy string
	// Open returns the layer's uncompressed tar stream.
	Open func() (io.ReadCloser, error)
}

// ScanLayers scans every regular file of every layer — files that a later
// layer deletes or overwrites included, since they are still in the image.
// Whiteout entries, links and special files are skipped; archives are
// scanned as in ScanDir. Paths are absolute within the image ("/etc/x").
// A layer that cannot be read is a Problem; the other layers are scanned.
func ScanLayers(ctx context.Context, s *Scanner, layers []LayerSource, o DirOptions) (*Result, error) {
	return scanLayers(ctx, s.Scan, layers, o)
}

func scanLayers(ctx context.Context, scan scanFunc, layers []LayerSource, o DirOptions) (*Result, error) {
	o = o.normalise()
	c := &collector{}
	e := &expander{scan: scan, o: o, c: c}
	type file struct {
		data []byte
		loc  Location
	}
	err := pool(ctx, o.Workers, func(ctx context.Context, send func(file) bool) error {
		// Layers are read a few at a time; their files go to the workers.
		readers := min(len(layers), max(1, o.Workers/2))
		next := make(chan LayerSource)
		var wg sync.WaitGroup
		for range readers {
			wg.Go(func() {
				for l := range next {
					e.readLayer(ctx, l, func(data []byte, loc Location) bool { return send(file{data, loc}) })
				}
			})
		}
	feed:
		for _, l := range layers {
			select {
			case next <- l:
			case <-ctx.Done():
				break feed
			}
		}
		close(next)
		wg.Wait()
		return nil
	}, func(f file) {
		e.scanBytes(f.data, f.loc, 0, nil)
	})
	return c.result(), err
}

// readLayer reads one layer's tar and emits its regular files.
func (e *expander) readLayer(ctx context.Context, l LayerSource, emit func([]byte, Location) bool) {
	base := Location{Path: "/", Layer: l.DiffID, LayerIndex: l.Index, CreatedBy: l.CreatedBy}
	if l.Open == nil {
		e.c.problem(base, "layer cannot be opened")
		return
	}
	rc, err := l.Open()
	if err != nil {
		e.c.problem(base, fmt.Sprintf("open: %v", err))
		return
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for ctx.Err() == nil {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			e.c.problem(base, fmt.Sprintf("read: %v (rest of the layer not scanned)", err))
			return
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != '\x00' {
			continue
		}
		name := path.Clean("/" + h.Name)
		if strings.HasPrefix(path.Base(name), ".wh.") {
			continue
		}
		loc := base
		loc.Path = name
		// A budget of one file: readMember only truncates here.
		data, err := e.readMember(tr, loc, &budget{left: e.o.MaxFileSize + 1})
		if err != nil && !errors.Is(err, errBudget) {
			e.c.problem(base, fmt.Sprintf("read %s: %v (rest of the layer not scanned)", name, err))
			return
		}
		if !emit(data, loc) {
			return
		}
	}
}
