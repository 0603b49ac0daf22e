package secret

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// Problem is something that was not (fully) scanned. Any Problem makes a
// Result incomplete.
type Problem struct {
	Path string `json:"path"`
	Err  string `json:"error"`
}

// Result is what a scan of a source found and how much it read.
type Result struct {
	Findings []Finding `json:"findings"`
	Problems []Problem `json:"problems,omitempty"`
	// Files counts the files (archive members and git blobs included)
	// handed to the scanner and Bytes their total size.
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
	// Blobs and Commits count what ScanGit read.
	Blobs   int `json:"blobs,omitempty"`
	Commits int `json:"commits,omitempty"`
}

// DirOptions tune ScanDir and ScanLayers. The zero value is ready to use.
type DirOptions struct {
	// Gitignore skips files ignored by the .gitignore files under the root.
	Gitignore bool
	// MaxFileSize bounds what is read of one file or archive member; only
	// the first MaxFileSize bytes of a larger one are scanned, and a
	// Problem says so. 0 means 64 MiB.
	MaxFileSize int64
	// NoArchives scans zip, tar and gzip files as plain bytes instead of
	// scanning their members.
	NoArchives bool
	// MaxArchiveDepth bounds archive nesting; 0 means 3 (a jar in a zip in
	// a tar.gz).
	MaxArchiveDepth int
	// MaxArchiveBytes bounds what one outermost archive may expand to,
	// nested archives included; 0 means 1 GiB.
	MaxArchiveBytes int64
	// Workers is the number of files scanned at once; 0 means GOMAXPROCS.
	Workers int
}

func (o DirOptions) normalise() DirOptions {
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = 64 << 20
	}
	if o.MaxArchiveDepth <= 0 {
		o.MaxArchiveDepth = 3
	}
	if o.MaxArchiveBytes <= 0 {
		o.MaxArchiveBytes = 1 << 30
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return o
}

// maxGitignoreSize bounds a .gitignore file read into memory.
const maxGitignoreSize = 1 << 20

// ScanDir scans every regular file under root. Symbolic links are not
// followed and .git directories are skipped. Archives are scanned member
// by member (see DirOptions). Findings name paths relative to root, with
// forward slashes.
func ScanDir(ctx context.Context, s *Scanner, root string, o DirOptions) (*Result, error) {
	return scanDir(ctx, s.Scan, root, o)
}

// scanFunc is (*Scanner).Scan; tests of the sources substitute it.
type scanFunc func([]byte, Location) []Finding

func scanDir(ctx context.Context, scan scanFunc, root string, o DirOptions) (*Result, error) {
	o = o.normalise()
	if _, err := os.Lstat(root); err != nil {
		return nil, fmt.Errorf("scan %s: %w", root, err)
	}
	c := &collector{}
	e := &expander{scan: scan, o: o, c: c}
	type file struct{ abs, rel string }
	err := pool(ctx, o.Workers, func(ctx context.Context, send func(file) bool) error {
		var patterns []gitignore.Pattern
		return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			rel, rerr := filepath.Rel(root, p)
			if rerr != nil || rel == "." {
				rel = filepath.Base(p)
			}
			rel = filepath.ToSlash(rel)
			if err != nil {
				c.problem(Location{Path: rel}, err.Error())
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			parts := strings.Split(rel, "/")
			if d.IsDir() {
				if d.Name() == ".git" {
					return fs.SkipDir
				}
				if o.Gitignore {
					if p != root && gitignore.NewMatcher(patterns).Match(parts, true) {
						return fs.SkipDir
					}
					var domain []string
					if p != root {
						domain = parts
					}
					patterns = append(patterns, readGitignore(filepath.Join(p, ".gitignore"), domain)...)
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			if o.Gitignore && gitignore.NewMatcher(patterns).Match(parts, false) {
				return nil
			}
			if !send(file{abs: p, rel: rel}) {
				return ctx.Err()
			}
			return nil
		})
	}, func(f file) {
		e.scanFile(f.abs, Location{Path: f.rel})
	})
	return c.result(), err
}

// readGitignore parses one .gitignore; a missing or unreadable one has no
// patterns.
func readGitignore(name string, domain []string) []gitignore.Pattern {
	f, err := os.Open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	var ps []gitignore.Pattern
	sc := bufio.NewScanner(io.LimitReader(f, maxGitignoreSize))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, domain))
	}
	return ps
}

// scanFile scans one file on disk. Archives are read in place (a zip by
// offset, a tar or gzip as a stream) rather than loaded whole.
func (e *expander) scanFile(name string, loc Location) {
	f, err := os.Open(name)
	if err != nil {
		e.c.problem(loc, err.Error())
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		e.c.problem(loc, err.Error())
		return
	}
	if !fi.Mode().IsRegular() { // replaced since the walk saw it
		return
	}
	head := make([]byte, sniffLen)
	n, _ := f.ReadAt(head, 0)
	head = head[:n]
	if kind := sniff(head); kind != notArchive && !e.o.NoArchives {
		b := &budget{left: e.o.MaxArchiveBytes}
		switch kind {
		case zipArchive:
			err = e.expandZip(f, fi.Size(), loc, 1, b)
		case tarArchive:
			err = e.expandTar(f, loc, 1, b)
		case gzipStream:
			err = e.expandGzip(f, loc, 1, b)
		}
		if err == nil {
			return
		}
		e.c.problem(loc, err.Error())
		if !isFormat(err) {
			return
		}
		// A damaged zip, or something else starting with "PK": scan it
		// as plain bytes.
	}
	data, err := e.readMember(f, loc, &budget{left: e.o.MaxFileSize + 1})
	if err != nil {
		e.c.problem(loc, err.Error())
		return
	}
	e.scanLeaf(data, loc)
}

// collector gathers a Result from many goroutines.
type collector struct {
	mu sync.Mutex
	r  Result
}

func (c *collector) scanned(n int64, fs []Finding) {
	c.mu.Lock()
	c.r.Files++
	c.r.Bytes += n
	c.r.Findings = append(c.r.Findings, fs...)
	c.mu.Unlock()
}

// problem records what went wrong at loc, naming the layer or commit too.
func (c *collector) problem(loc Location, msg string) {
	switch {
	case loc.Layer != "":
		msg = fmt.Sprintf("layer %d (%s): %s", loc.LayerIndex, loc.Layer, msg)
	case loc.Commit != "":
		msg = fmt.Sprintf("commit %s: %s", loc.Commit, msg)
	}
	c.mu.Lock()
	c.r.Problems = append(c.r.Problems, Problem{Path: loc.Path, Err: msg})
	c.mu.Unlock()
}

// result returns the Result with findings and problems in a stable order.
func (c *collector) result() *Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.r
	slices.SortFunc(r.Findings, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.LayerIndex, b.LayerIndex),
			cmp.Compare(a.Layer, b.Layer),
			cmp.Compare(a.Commit, b.Commit),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
			cmp.Compare(a.RuleID, b.RuleID),
			cmp.Compare(a.Fingerprint, b.Fingerprint),
		)
	})
	slices.SortFunc(r.Problems, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Err, b.Err))
	})
	return &r
}

// pool runs produce, which sends jobs, and hands the jobs to workers
// goroutines running work. send reports false once ctx is done. pool
// returns produce's error, else ctx's.
func pool[J any](ctx context.Context, workers int, produce func(context.Context, func(J) bool) error, work func(J)) error {
	jobs := make(chan J, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				if ctx.Err() == nil {
					work(j)
				}
			}
		})
	}
	send := func(j J) bool {
		select {
		case jobs <- j:
			return true
		case <-ctx.Done():
			return false
		}
	}
	err := produce(ctx, send)
	close(jobs)
	wg.Wait()
	if err == nil {
		err = ctx.Err()
	}
	if errors.Is(err, fs.SkipAll) {
		err = nil
	}
	return err
}
