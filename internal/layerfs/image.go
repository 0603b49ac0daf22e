package layerfs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// Image is a layered read-only filesystem under construction: AddLayer
// appends layers bottom first, View gives the filesystem after any layer.
//
// AddLayer and Close must not run concurrently with each other or with
// themselves. Everything else, including reading views while a layer is
// added, is safe for concurrent use.
type Image struct {
	opts     Options
	lim      Limits
	key      string // hash of Options.cacheKey, in cache file names
	tmpDir   string // data files of layers not cached
	cacheDir string // CacheDir/layerfs/v1 ("" without a cache)
	layers   []layerState
	entries  int
	closed   bool

	mu       sync.RWMutex // guards what views and accessors read
	blobs    []blob
	files    []*os.File
	problems []Problem
	hits     int
}

type layerState struct {
	diffID string
	view   *node // root of the view of layers 0..i
}

// New returns an empty Image. It creates a temporary directory under
// Options.TempDir and, with Options.CacheDir, the cache directory.
func New(opts Options) (*Image, error) {
	lim, err := opts.Limits.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("layerfs: %w", err)
	}
	opts.Limits = lim
	if opts.CacheDir != "" && opts.Retain != nil && opts.RetainKey == "" {
		return nil, errors.New("layerfs: RetainKey is required with CacheDir and Retain")
	}
	img := &Image{opts: opts, lim: lim}
	if opts.CacheDir != "" {
		img.cacheDir = filepath.Join(opts.CacheDir, "layerfs", fmt.Sprintf("v%d", cacheVersion))
		if err := os.MkdirAll(img.cacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("layerfs: create cache: %w", err)
		}
		sum := sha256.Sum256([]byte(opts.cacheKey()))
		img.key = hex.EncodeToString(sum[:16])
	}
	// Layers that are not cached keep their contents here.
	img.tmpDir, err = os.MkdirTemp(opts.TempDir, "vigil-layerfs-")
	if err != nil {
		return nil, fmt.Errorf("layerfs: create temp dir: %w", err)
	}
	return img, nil
}

// AddLayer indexes the next layer. open yields its uncompressed tar
// stream; it is not called when the layer is served from the cache, and
// may be called twice when a hardlink's content must be read again. When
// diffID is a well-formed digest ("sha256:<64 hex>" or "sha512:<128 hex>")
// the stream is verified against it; otherwise the layer is never cached.
//
// AddLayer fails only when ctx ends or a temporary file cannot be written;
// then the layer is not added. Anything wrong with the stream or an entry is
// recorded as a Problem and the rest indexed as far as possible.
func (img *Image) AddLayer(ctx context.Context, diffID string, open func() (io.ReadCloser, error)) error {
	if img.closed {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	i := len(img.layers)
	budget := max(0, min(img.lim.MaxEntries, img.lim.MaxImageEntries-img.entries))
	idx, err := img.index(ctx, i, diffID, open, budget)
	if err != nil {
		return fmt.Errorf("add layer %s: %w", diffID, err)
	}
	m := &merger{layer: int32(i), diffID: diffID, lim: img.lim, retain: img.opts.Retain}
	if i > 0 {
		m.lower = img.layers[i-1].view
	}
	root := m.merge(idx.root)
	img.mu.Lock()
	img.problems = append(img.problems, idx.problems...)
	img.problems = append(img.problems, m.problems...)
	img.layers = append(img.layers, layerState{diffID: diffID, view: root})
	img.mu.Unlock()
	img.entries += idx.entries
	return nil
}

// index returns the index of layer i, from the cache or the stream, and
// registers its retained contents.
func (img *Image) index(ctx context.Context, i int, diffID string, open func() (io.ReadCloser, error), budget int) (*layerIndex, error) {
	path := img.cachePath(diffID)
	if path != "" {
		if idx := img.loadCache(path, diffID, int32(i), budget); idx != nil {
			img.register(idx)
			img.mu.Lock()
			img.hits++
			img.mu.Unlock()
			return idx, nil
		}
	}
	idx, err := img.build(ctx, i, diffID, open, budget, path)
	if err != nil {
		return nil, err
	}
	img.register(idx)
	return idx, nil
}

func (img *Image) register(idx *layerIndex) {
	img.mu.Lock()
	defer img.mu.Unlock()
	if idx.file != nil {
		img.files = append(img.files, idx.file)
	}
	img.blobs = append(img.blobs, idx.blobs...)
}

// build reads layer i from its stream; cachePath, if set, is where the
// index is stored when the stream proves to be the layer diffID names.
func (img *Image) build(ctx context.Context, i int, diffID string, open func() (io.ReadCloser, error), budget int, cachePath string) (*layerIndex, error) {
	img.mu.RLock()
	base := int32(len(img.blobs))
	img.mu.RUnlock()
	b := &builder{
		lim: img.lim, diffID: diffID, layer: int32(i), budget: budget,
		blobBase: base, retain: img.opts.Retain,
		kids: make(map[childKey]*node),
		idx:  layerIndex{root: newDir("", int32(i))},
		data: &dataFile{},
	}
	if cachePath != "" {
		f, err := os.CreateTemp(img.cacheDir, ".tmp-*")
		if err != nil {
			return nil, fmt.Errorf("create cache entry: %w", err)
		}
		b.data.f, b.data.h = f, sha256.New()
		if _, err := b.data.Write([]byte(cacheMagic)); err != nil {
			b.data.discard()
			return nil, err
		}
	} else {
		b.data.create = func() (*os.File, error) {
			name := filepath.Join(img.tmpDir, fmt.Sprintf("layer-%04d.data", i))
			return os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		}
	}
	_, hexSum, h, verifiable := parseDigest(diffID)
	if err := b.run(ctx, open, h); err != nil {
		b.data.discard()
		return nil, err
	}
	if verifiable && b.complete {
		if err := checkDigest(h, hexSum); err != nil {
			b.problem("", err)
			verifiable = false
		}
	}
	freeze(b.idx.root, false)
	b.idx.blobs = b.data.blobs
	if cachePath != "" {
		// A layer that cannot be cached (or whose entry cannot be stored, say
		// because something else holds its name) keeps its open file only.
		if !verifiable || !b.complete || b.limited || img.storeCache(b.data, &b.idx, diffID, cachePath, base) != nil {
			os.Remove(b.data.f.Name())
		}
		if len(b.idx.blobs) == 0 {
			b.data.f.Close()
			b.data.f = nil
		}
	}
	b.idx.file = b.data.f
	return &b.idx, nil
}

// run reads the layer, and again for hardlinks needing it.
func (b *builder) run(ctx context.Context, open func() (io.ReadCloser, error), h hash.Hash) error {
	rc, err := open()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b.problem("", fmt.Errorf("open layer: %w", err))
		return nil
	}
	cr := &countingReader{ctx: ctx, r: rc, h: h, limit: b.lim.MaxLayerBytes}
	err = b.read(ctx, cr)
	rc.Close()
	if err != nil {
		return err
	}
	if len(b.links) > 0 {
		return b.secondPass(ctx, open)
	}
	return nil
}

// blob returns the retained content i, if any.
func (img *Image) blob(i int32) (blob, bool) {
	if i < 0 {
		return blob{}, false
	}
	img.mu.RLock()
	defer img.mu.RUnlock()
	if int(i) >= len(img.blobs) {
		return blob{}, false
	}
	return img.blobs[i], true
}

// LayerCount is the number of layers added.
func (img *Image) LayerCount() int {
	img.mu.RLock()
	defer img.mu.RUnlock()
	return len(img.layers)
}

// viewRoot returns the root of view i, nil if out of range.
func (img *Image) viewRoot(i int) *node {
	img.mu.RLock()
	defer img.mu.RUnlock()
	if i < 0 || i >= len(img.layers) {
		return nil
	}
	return img.layers[i].view
}

// LayerDiffID is the DiffID layer i was added with, "" if out of range.
func (img *Image) LayerDiffID(i int) string {
	img.mu.RLock()
	defer img.mu.RUnlock()
	if i < 0 || i >= len(img.layers) {
		return ""
	}
	return img.layers[i].diffID
}

// View is the filesystem after layers 0..i, whiteouts applied. It
// implements fs.ReadDirFS, fs.StatFS, fs.ReadFileFS and fs.ReadLinkFS;
// names are unrooted and slash-separated. Symlinks are resolved within the
// image root. For i out of range every operation fails with fs.ErrInvalid.
func (img *Image) View(i int) fs.FS {
	return &view{img: img, root: img.viewRoot(i)}
}

// Writers lists, ascending, the layers that wrote the regular file name
// in the chain surviving in the final view: a layer that deleted the path
// (whiteout, opaque directory, or another kind of entry there) ends the
// chain. Symlinks in name's directories are followed. Empty if name is not
// a regular file in the final view.
func (img *Image) Writers(name string) []int {
	top := img.LayerCount() - 1
	if top < 0 || !fs.ValidPath(name) {
		return nil
	}
	parts, n, err := walk(img.viewRoot(top), name, walkOpts{maxLinks: img.lim.MaxSymlinkDepth})
	if err != nil || n == nil || n.kind != kindReg {
		return nil
	}
	real := joinParts(parts)
	var ws []int
	for {
		l := int(n.layer)
		ws = append(ws, l)
		if n.flags&flagFresh != 0 || l == 0 {
			break
		}
		n = lookupExact(img.viewRoot(l-1), real)
		if n == nil || n.kind != kindReg {
			break
		}
	}
	slices.Reverse(ws)
	return ws
}

func joinParts(parts []string) string {
	s := ""
	for _, p := range parts {
		s = joinPath(s, p)
	}
	return s
}

// Problems lists what went wrong per entry or layer, in the order met.
// Any Problem means the views are incomplete.
func (img *Image) Problems() []Problem {
	img.mu.RLock()
	defer img.mu.RUnlock()
	return slices.Clone(img.problems)
}

// CacheHits is the number of layers served from the cache.
func (img *Image) CacheHits() int {
	img.mu.RLock()
	defer img.mu.RUnlock()
	return img.hits
}

// Close releases the retained contents and removes the temporary
// directory; the persistent cache stays. Views must not be read after.
func (img *Image) Close() error {
	if img.closed {
		return nil
	}
	img.closed = true
	img.mu.Lock()
	var errs []error
	for _, f := range img.files {
		if err := f.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	img.files, img.blobs = nil, nil
	img.mu.Unlock()
	if err := os.RemoveAll(img.tmpDir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
