package detect

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/sensor"
)

type update struct {
	e   *Engine
	err error
}

// TestWatchReload: a good file loads, a broken edit keeps the previous
// rules and reports the error, a fix loads.
func TestWatchReload(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "mine.yaml")
	write := func(cond string) {
		t.Helper()
		src := "rules:\n  - {id: U-1, title: mine, severity: low, kinds: [exec], condition: '" + cond + "'}\n"
		if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`process.name == "a"`)
	ctx, cancel := context.WithCancel(context.Background())
	updates := make(chan update, 16)
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, dir, func(e *Engine, err error) { updates <- update{e, err} }, &WatchOptions{Debounce: 50 * time.Millisecond})
	}()
	next := func() update {
		t.Helper()
		select {
		case u := <-updates:
			return u
		case <-time.After(10 * time.Second):
			t.Fatal("no reload")
		}
		return update{}
	}
	fires := func(e *Engine, name string) bool {
		return len(e.Match(&sensor.Event{Kind: sensor.KindExec, Process: sensor.Process{Name: name}})) > 0
	}
	u := next()
	if u.err != nil || !fires(u.e, "a") {
		t.Fatalf("initial: %v", u.err)
	}
	first := u.e

	write(`process.name ==`)
	u = next()
	if u.err == nil || u.e != first || !fires(u.e, "a") {
		t.Fatalf("broken edit: err %v, engine kept %v", u.err, u.e == first)
	}

	write(`process.name == "b"`)
	u = next()
	if u.err != nil || !fires(u.e, "b") || fires(u.e, "a") {
		t.Fatalf("fix: %v", u.err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
