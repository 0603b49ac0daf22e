package inventory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/google/osv-scalibr/extractor"
	"github.com/google/osv-scalibr/extractor/filesystem"
	scalibrfs "github.com/google/osv-scalibr/fs"
)

// engineVersion changes whenever extraction output for the same input may
// change, so that caches keyed by Engine.Key are invalidated.
const engineVersion = "3"

// Defaults for Options.
const (
	DefaultMaxFileSize = 1 << 30 // 1 GiB: larger files are reported, not read
)

// Options tune an Engine. The zero value is ready to use.
type Options struct {
	// MaxFileSize is the largest file handed to an extractor; larger files
	// become Unknowns. Zero means DefaultMaxFileSize.
	MaxFileSize int64
	// Workers is the number of files extracted at once; zero means
	// GOMAXPROCS.
	Workers int
}

// FSOptions describe one filesystem scan.
type FSOptions struct {
	// Root is the absolute directory fsys is rooted at on the real
	// filesystem, or "" when fsys is virtual. Extractors that need a real
	// path (rpm) use it to avoid copying the file.
	Root string
	// SkipDirs are unrooted directories not descended into ("proc").
	SkipDirs []string
}

// Engine extracts packages from filesystems. It is safe for concurrent use.
type Engine struct {
	extractors []filesystem.Extractor
	opts       Options
	key        string
}

// NewEngine returns an Engine running Vigil's full extractor catalog.
func NewEngine(opts Options) (*Engine, error) {
	ex, err := newExtractors()
	if err != nil {
		return nil, err
	}
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	names := make([]string, 0, len(ex))
	for _, e := range ex {
		names = append(names, fmt.Sprintf("%s@%d", e.Name(), e.Version()))
	}
	slices.Sort(names)
	sum := sha256.Sum256([]byte(engineVersion + "\n" + strings.Join(names, "\n")))
	return &Engine{extractors: ex, opts: opts, key: hex.EncodeToString(sum[:16])}, nil
}

// Key identifies the engine's extractor set and their versions. Caches of
// anything derived from Wants must be keyed by it.
func (e *Engine) Key() string { return e.key }

// osReleaseFiles are read for the asset's OS and by OS extractors.
var osReleaseFiles = map[string]bool{"etc/os-release": true, "usr/lib/os-release": true}

// Wants reports whether any extractor needs the regular file at name
// (unrooted, slash-separated), or the engine needs it to identify the OS.
// Layer readers use it to decide which file contents to keep.
func (e *Engine) Wants(name string, info fs.FileInfo) bool {
	if osReleaseFiles[name] {
		return true
	}
	return len(e.extractorsFor(name, info)) > 0
}

func (e *Engine) extractorsFor(name string, info fs.FileInfo) []filesystem.Extractor {
	api := fileAPI{path: name, info: info}
	var out []filesystem.Extractor
	for _, x := range e.extractors {
		if x.FileRequired(api) {
			out = append(out, x)
		}
	}
	return out
}

// fileAPI is what SCALIBR's FileRequired looks at.
type fileAPI struct {
	path string
	info fs.FileInfo
}

func (f fileAPI) Path() string               { return f.path }
func (f fileAPI) Stat() (fs.FileInfo, error) { return f.info, nil }

// candidate is a file some extractors asked for.
type candidate struct {
	name       string
	info       fs.FileInfo
	extractors []filesystem.Extractor
}

// ScanFS inventories a filesystem. The returned error is non-nil only when
// ctx ends; everything else that goes wrong is an Unknown.
func (e *Engine) ScanFS(ctx context.Context, fsys fs.FS, opts FSOptions) ([]Package, []Unknown, error) {
	skip := make(map[string]bool, len(opts.SkipDirs))
	for _, d := range opts.SkipDirs {
		skip[strings.Trim(path.Clean("/"+d), "/")] = true
	}
	cands, unknowns, err := e.walk(ctx, fsys, skip)
	if err != nil {
		return nil, unknowns, err
	}
	res := e.extractAll(ctx, fsys, opts.Root, cands)
	var pkgs []Package
	for _, r := range res {
		unknowns = append(unknowns, r.unknowns...)
		pkgs = append(pkgs, r.pkgs...)
	}
	return pkgs, unknowns, ctx.Err()
}

// ScanLayered inventories an image and attributes every package to the layer
// that introduced it: the first layer from which the file declaring the
// package contained it in every later version of that file.
func (e *Engine) ScanLayered(ctx context.Context, l Layered) ([]Package, []Unknown, error) {
	return e.ScanLayeredCached(ctx, l, nil)
}

// ScanLayeredCached is ScanLayered with a cache of per-file results: a file
// whose chain of writing layers was seen before is not extracted again.
// cache may be nil.
func (e *Engine) ScanLayeredCached(ctx context.Context, l Layered, cache ExtractCache) ([]Package, []Unknown, error) {
	n := l.LayerCount()
	if n == 0 {
		return nil, nil, nil
	}
	final := l.View(n - 1)
	cands, unknowns, err := e.walk(ctx, final, nil)
	if err != nil {
		return nil, unknowns, err
	}
	results := make([]fileResult, len(cands))
	keys := make([]string, len(cands))
	buckets := make([]string, len(cands))
	loaded := map[string]map[string]CachedFile{}
	var need []int
	for i, c := range cands {
		w := l.Writers(c.name)
		if cache == nil || len(w) == 0 {
			need = append(need, i)
			continue
		}
		b := l.LayerDiffID(w[len(w)-1])
		buckets[i], keys[i] = b, e.cacheKey(l, c.name, w)
		m, ok := loaded[b]
		if !ok {
			m, _ = cache.Load(b) // an unreadable bucket is a miss
			loaded[b] = m
		}
		if cf, ok := m[keys[i]]; ok {
			results[i] = fileResult{pkgs: cf.Packages, unknowns: cf.Unknowns}
			continue
		}
		need = append(need, i)
	}
	sub := make([]candidate, len(need))
	for j, i := range need {
		sub[j] = cands[i]
	}
	fresh := e.extractAll(ctx, final, "", sub)
	for j, i := range need {
		if len(fresh[j].pkgs) > 0 {
			e.attribute(ctx, l, cands[i], fresh[j].pkgs)
		}
		results[i] = fresh[j]
	}
	if err := ctx.Err(); err != nil {
		return nil, unknowns, err
	}
	if cache != nil && len(need) > 0 {
		dirty := map[string]bool{}
		for _, i := range need {
			b := buckets[i]
			if b == "" {
				continue
			}
			if loaded[b] == nil {
				loaded[b] = map[string]CachedFile{}
			}
			loaded[b][keys[i]] = CachedFile{Packages: results[i].pkgs, Unknowns: results[i].unknowns}
			dirty[b] = true
		}
		for b := range dirty {
			_ = cache.Store(b, loaded[b]) // a cache that cannot be written only costs time
		}
	}
	var pkgs []Package
	for _, r := range results {
		unknowns = append(unknowns, r.unknowns...)
		pkgs = append(pkgs, r.pkgs...)
	}
	return pkgs, unknowns, nil
}

// attribute sets the introducing layer of pkgs, all found in file c.
func (e *Engine) attribute(ctx context.Context, l Layered, c candidate, pkgs []Package) {
	writers := l.Writers(c.name)
	if len(writers) == 0 {
		return
	}
	last := writers[len(writers)-1]
	intro := make([]int, len(pkgs))
	alive := make([]bool, len(pkgs))
	for i := range pkgs {
		intro[i], alive[i] = last, true
	}
	// Walk back through earlier versions of the file; a package keeps an
	// earlier layer as long as every version from there on contains it.
	for j := len(writers) - 2; j >= 0; j-- {
		view := l.View(writers[j])
		info, err := fs.Stat(view, c.name)
		if err != nil || !info.Mode().IsRegular() {
			break
		}
		older := e.extractFile(ctx, view, "", candidate{name: c.name, info: info, extractors: c.extractors})
		have := make(map[string]bool, len(older.pkgs))
		for _, p := range older.pkgs {
			have[p.identity()] = true
		}
		anyAlive := false
		for i := range pkgs {
			if alive[i] && have[pkgs[i].identity()] {
				intro[i] = writers[j]
				anyAlive = true
			} else {
				alive[i] = false
			}
		}
		if !anyAlive {
			break
		}
	}
	for i := range pkgs {
		for k := range pkgs[i].Locations {
			pkgs[i].Locations[k].LayerIndex = intro[i]
			pkgs[i].Locations[k].LayerDiffID = l.LayerDiffID(intro[i])
		}
	}
}

func (p *Package) identity() string {
	return string(p.Ecosystem) + "\x00" + p.Name + "\x00" + p.Version
}

// walk lists the files extractors want, without following symlinks.
func (e *Engine) walk(ctx context.Context, fsys fs.FS, skip map[string]bool) ([]candidate, []Unknown, error) {
	var cands []candidate
	var unknowns []Unknown
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if err != nil {
			// An unreadable directory hides what is below it.
			unknowns = append(unknowns, Unknown{Path: "/" + name, Err: err.Error()})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if name != "." && skip[name] {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			unknowns = append(unknowns, Unknown{Path: "/" + name, Err: err.Error()})
			return nil
		}
		if ex := e.extractorsFor(name, info); len(ex) > 0 {
			cands = append(cands, candidate{name: name, info: info, extractors: ex})
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		unknowns = append(unknowns, Unknown{Path: "/", Err: err.Error()})
		err = nil
	}
	return cands, unknowns, err
}

type fileResult struct {
	pkgs     []Package
	unknowns []Unknown
}

// extractAll runs extraction over cands with bounded parallelism; result i
// belongs to cands[i].
func (e *Engine) extractAll(ctx context.Context, fsys fs.FS, root string, cands []candidate) []fileResult {
	out := make([]fileResult, len(cands))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < e.opts.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				out[i] = e.extractFile(ctx, fsys, root, cands[i])
			}
		}()
	}
	for i := range cands {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return out
}

// extractFile runs every extractor that wants c on it.
func (e *Engine) extractFile(ctx context.Context, fsys fs.FS, root string, c candidate) fileResult {
	var r fileResult
	if c.info.Size() > e.opts.MaxFileSize {
		r.unknowns = append(r.unknowns, Unknown{Path: "/" + c.name,
			Err: fmt.Sprintf("file of %d bytes is over the %d byte limit; not read", c.info.Size(), e.opts.MaxFileSize)})
		return r
	}
	sfs := asScalibrFS(fsys)
	seen := map[string]bool{}
	for _, x := range c.extractors {
		pkgs, err := e.runChecked(ctx, x, sfs, root, c)
		if err != nil {
			r.unknowns = append(r.unknowns, Unknown{Path: "/" + c.name, Extractor: x.Name(), Err: errText(err)})
		}
		for _, sp := range pkgs {
			// A file may list the same package twice (Gemfile.lock has a
			// spec per platform: nokogiri (1.11.1) and nokogiri
			// (1.11.1-x86_64-linux)); in the model they are one package.
			if p, ok := convert(sp, x.Name(), c.name); ok && !seen[p.ID] {
				seen[p.ID] = true
				r.pkgs = append(r.pkgs, p)
			}
		}
	}
	return r
}

// runExtractor calls one SCALIBR extractor on one file. A panic in an
// extractor fed hostile bytes becomes an error for that file.
func (e *Engine) runExtractor(ctx context.Context, x filesystem.Extractor, sfs scalibrfs.FS, root string, c candidate) (pkgs []*extractor.Package, err error) {
	f, err := sfs.Open(c.name)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	defer f.Close()
	defer func() {
		if p := recover(); p != nil {
			pkgs, err = nil, fmt.Errorf("extractor failed on malformed input: %v", p)
		}
	}()
	inv, err := x.Extract(ctx, &filesystem.ScanInput{
		FS:   sfs,
		Path: c.name,
		Root: root,
		Info: c.info,
		// The file itself, not a wrapper: binary extractors need its
		// io.ReaderAt. Its size was checked against MaxFileSize already.
		Reader: f,
	})
	if err != nil {
		return inv.Packages, fmt.Errorf("parse: %w", err)
	}
	return inv.Packages, nil
}

// asScalibrFS adapts an fs.FS to the interface SCALIBR wants, falling back
// to the fs package's generic helpers where fsys lacks a method.
func asScalibrFS(fsys fs.FS) scalibrfs.FS {
	if s, ok := fsys.(scalibrfs.FS); ok {
		return s
	}
	return fsAdapter{fsys}
}

type fsAdapter struct{ fs.FS }

func (a fsAdapter) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(a.FS, name) }
func (a fsAdapter) Stat(name string) (fs.FileInfo, error)      { return fs.Stat(a.FS, name) }
