package advisory

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"strings"
	"sync"
)

// WalkOSV parses every .json, .yaml and .yml file under fsys, recursively
// and in lexical order (fs.WalkDir's), and calls fn once per file: with the
// record, or with an error naming the file. Directories and files whose
// names start with "." (.git, .github) are skipped. If fn returns an error,
// WalkOSV stops and returns it; returning nil goes on to the next file.
//
// Files are read and parsed concurrently, so fsys must be safe for
// concurrent use (os.DirFS, fstest.MapFS and zip.Reader are); fn is called
// from the calling goroutine, one call at a time, in walk order.
func WalkOSV(fsys fs.FS, fn func(Advisory, error) error) error {
	type item struct {
		path string
		err  error
	}
	var items []item
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			items = append(items, item{path: p, err: err})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if p != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.IsDir() && isOSVName(p) {
			items = append(items, item{path: p})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("walk osv: %w", err)
	}
	return parseOrdered(len(items), func(i int) (Advisory, error) {
		it := items[i]
		if it.err != nil {
			return Advisory{}, fmt.Errorf("walk %s: %w", it.path, it.err)
		}
		f, err := fsys.Open(it.path)
		if err != nil {
			return Advisory{}, fmt.Errorf("parse %s: %w", it.path, err)
		}
		defer f.Close()
		return ParseOSV(f, it.path)
	}, fn)
}

func isOSVName(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".json", ".yaml", ".yml":
		return true
	}
	return false
}

// parseOrdered runs parse(0..n-1) on GOMAXPROCS workers and hands the
// results to fn in index order, from the calling goroutine. At most a few
// results per worker are held at a time. It stops at the first error fn
// returns or the first fatalError parse returns, and waits for its workers
// before returning.
func parseOrdered(n int, parse func(i int) (Advisory, error), fn func(Advisory, error) error) error {
	workers := runtime.GOMAXPROCS(0)
	if workers > n {
		workers = n
	}
	if workers <= 1 {
		for i := 0; i < n; i++ {
			a, err := parse(i)
			if fe, ok := asFatal(err); ok {
				return fe
			}
			if err := fn(a, err); err != nil {
				return err
			}
		}
		return nil
	}
	type result struct {
		adv Advisory
		err error
	}
	type job struct {
		i   int
		out chan result
	}
	jobs := make(chan job)
	futures := make(chan chan result, 2*workers)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(jobs)
		defer close(futures)
		for i := 0; i < n; i++ {
			out := make(chan result, 1)
			select {
			case futures <- out:
			case <-done:
				return
			}
			select {
			case jobs <- job{i, out}:
			case <-done:
				return
			}
		}
	}()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				a, err := parse(j.i)
				j.out <- result{a, err}
			}
		}()
	}
	stop := func(err error) error {
		close(done)
		wg.Wait()
		return err
	}
	for out := range futures {
		r := <-out
		if fe, ok := asFatal(r.err); ok {
			return stop(fe)
		}
		if err := fn(r.adv, r.err); err != nil {
			return stop(err)
		}
	}
	close(done)
	wg.Wait()
	return nil
}

// fatalError marks an error from parse that must end the whole run rather
// than be handed to fn (an archive over its total budget).
type fatalError struct{ err error }

func (e fatalError) Error() string { return e.err.Error() }
func (e fatalError) Unwrap() error { return e.err }

func asFatal(err error) (error, bool) {
	var fe fatalError
	if errors.As(err, &fe) {
		return fe.err, true
	}
	return nil, false
}
