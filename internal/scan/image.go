package scan

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/image"
	"github.com/vigil-sec/vigil/internal/inventory"
	"github.com/vigil-sec/vigil/internal/layerfs"
)

// ImageOptions tune an image scan.
type ImageOptions struct {
	Options
	Image image.Options
	// CacheDir holds the per-layer cache; "" disables it.
	CacheDir string
	// TempDir is where retained file contents go when there is no cache.
	TempDir string
	// Limits bound what a hostile image can cost; zero fields take
	// layerfs's defaults.
	Limits layerfs.Limits
}

// ImageStats says how a scan went, for logs and benchmarks.
type ImageStats struct {
	Layers    int
	CacheHits int
}

// Image inventories the image ref names. Layers are read as a virtual
// filesystem; nothing is unpacked outside the cache or temporary directory.
// A layer that cannot be read fully makes the result incomplete, never
// clean.
func Image(ctx context.Context, e *inventory.Engine, ref string, opts ImageOptions) (*Scanned, error) {
	var st ImageStats
	img, err := image.Open(ctx, ref, opts.Image)
	if err != nil {
		return nil, err
	}
	defer img.Close()

	lfs, err := layerfs.New(layerfs.Options{
		Retain:    e.Wants,
		RetainKey: e.Key(),
		CacheDir:  opts.CacheDir,
		TempDir:   opts.TempDir,
		Limits:    opts.Limits,
	})
	if err != nil {
		return nil, fmt.Errorf("scan image %s: %w", ref, err)
	}
	defer lfs.Close()

	res := &inventory.Result{Asset: img.Asset()}
	if res.Asset.ID == "" {
		res.Asset.ID = asset.NewID(asset.KindImage, res.Asset.Digest)
	}
	layers := img.Layers()
	for _, l := range layers {
		if err := lfs.AddLayer(ctx, l.DiffID, l.Open); err != nil {
			return nil, fmt.Errorf("scan image %s: layer %s: %w", ref, l.DiffID, err)
		}
	}
	st.Layers, st.CacheHits = len(layers), lfs.CacheHits()
	for _, p := range lfs.Problems() {
		res.Unknowns = append(res.Unknowns, inventory.Unknown{Layer: p.Layer, Path: rooted(p.Path), Err: problemText(p)})
	}
	if len(layers) == 0 {
		res.Sort()
		return &Scanned{Result: res, Stats: st}, nil
	}
	if osr, err := inventory.DetectOS(lfs.View(len(layers) - 1)); err == nil {
		res.Asset.OS = osr
	} else if !errors.Is(err, inventory.ErrNoOSRelease) {
		res.Unknowns = append(res.Unknowns, inventory.Unknown{Path: "/etc/os-release", Err: err.Error()})
	}
	var cache inventory.ExtractCache
	if opts.CacheDir != "" {
		cache = fileExtractCache{dir: filepath.Join(opts.CacheDir, "extract", e.Key())}
	}
	pkgs, unknowns, err := e.ScanLayeredCached(ctx, lfs, cache)
	if err != nil {
		return nil, fmt.Errorf("scan image %s: %w", ref, err)
	}
	res.Packages = pkgs
	res.Unknowns = append(res.Unknowns, unknowns...)
	res.Sort()
	out := &Scanned{Result: res, Stats: st}
	if opts.GoSymbols {
		out.Symbols = collectSymbols(lfs.View(len(layers)-1), res.Packages)
	}
	return out, nil
}

func rooted(p string) string {
	if p == "" || p[0] == '/' {
		return p
	}
	return "/" + p
}

// problemText is the problem's error without the layer and path, which the
// Unknown carries in fields of its own.
func problemText(p layerfs.Problem) string {
	if p.Err == nil {
		return "unknown problem"
	}
	return p.Err.Error()
}
