package api

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// writeCounter counts the store writes authentication could make.
type writeCounter struct {
	store.Store
	touches, audits atomic.Int64
}

func (w *writeCounter) TouchToken(ctx context.Context, id int64, at time.Time) error {
	w.touches.Add(1)
	return w.Store.TouchToken(ctx, id, at)
}

func (w *writeCounter) Audit(ctx context.Context, e store.AuditEntry) error {
	w.audits.Add(1)
	return w.Store.Audit(ctx, e)
}

// TestAuthenticatedGETWritesNothing: a request's authentication records
// the token's use in memory only (on SQLite a write would queue behind
// ingest); the use reaches the store later, in the background.
func TestAuthenticatedGETWritesNothing(t *testing.T) {
	e := newEnv(t)
	wc := &writeCounter{Store: e.st}
	e.srv = New(Options{Store: wc, Now: e.clock.Now, Tasks: e.tasks, Version: "test"})
	tok := e.session(e.readonly)
	for range 3 {
		want(t, e.do(http.MethodGet, "/api/v1/assets", tok, nil), http.StatusOK, nil)
	}
	if n, a := wc.touches.Load(), wc.audits.Load(); n != 0 || a != 0 {
		t.Errorf("authenticated GETs wrote to the store: %d token touches, %d audit entries", n, a)
	}
	if err := e.srv.tokens.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := wc.touches.Load(); n != 1 {
		t.Errorf("%d token touches written by the flush, want 1", n)
	}
}
