package detect

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// WatchOptions tune Watch. The zero value (or nil) is the default.
type WatchOptions struct {
	// Base is the set the directory's rules are laid over (usually
	// Builtin()); its lists and macros are available to them. nil means
	// none.
	Base *Ruleset
	// Engine are the options of every engine built.
	Engine *Options
	// Debounce is how long the directory must stay quiet after a change
	// before it is reloaded; 0 means 300ms. Editors write a file in
	// several steps; one reload follows them all.
	Debounce time.Duration
}

// Watch loads the rule files under dir and reloads them whenever the
// directory changes, until ctx is done (then it returns nil).
//
// onChange is called from Watch's goroutine: first with the engine of the
// initial load, then after every change. On success it gets the new
// engine and a nil error. When an edit does not load or compile it gets
// the engine still in force (the last good one) and the error: a bad edit
// never takes rules away. If the very first load fails, the engine in
// force is the Base alone (nil without a Base).
//
// Watch returns an error only when the directory cannot be watched.
func Watch(ctx context.Context, dir string, onChange func(*Engine, error), opts *WatchOptions) error {
	if opts == nil {
		opts = &WatchOptions{}
	}
	debounce := opts.Debounce
	if debounce <= 0 {
		debounce = 300 * time.Millisecond
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	defer w.Close()
	if err := addTree(w, dir); err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}

	var current *Engine
	load := func() {
		e, err := buildFrom(dir, opts)
		if err != nil {
			if current == nil && opts.Base != nil {
				current, _ = New(opts.Base, opts.Engine)
			}
			onChange(current, err)
			return
		}
		current = e
		onChange(e, nil)
	}
	load()

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if ev.Has(fsnotify.Create) {
				if info, err := os.Stat(ev.Name); err == nil && info.IsDir() {
					// A new subdirectory: watch it too (its files are loaded
					// with the rest after the quiet period).
					_ = addTree(w, ev.Name)
				}
			}
			timer.Reset(debounce)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			onChange(current, fmt.Errorf("watch %s: %w", dir, err))
		case <-timer.C:
			load()
		}
	}
}

// buildFrom loads dir over the base and compiles it.
func buildFrom(dir string, opts *WatchOptions) (*Engine, error) {
	rs, err := Load(os.DirFS(dir), ".")
	if err != nil {
		return nil, fmt.Errorf("reload %s: %w", dir, err)
	}
	if opts.Base != nil {
		rs = opts.Base.With(rs)
	}
	e, err := New(rs, opts.Engine)
	if err != nil {
		return nil, fmt.Errorf("reload %s: %w", dir, err)
	}
	return e, nil
}

func addTree(w *fsnotify.Watcher, dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return w.Add(p)
		}
		return nil
	})
}
