package auth

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Touches keeps API authentication read-only: it is a TokenStore whose
// TouchToken only records the use in memory; the uses are written to the
// underlying store in the background, flushDelay after the first one not
// yet written, at most once per token per minute (touchEvery). A request
// never waits for a store write (on SQLite, one queued behind ingest).
// Uses not yet written when the process ends are lost: LastUsedAt is
// informational.
type Touches struct {
	TokenStore

	flushDelay time.Duration

	mu      sync.Mutex
	pending map[int64]time.Time // token → latest use not yet written
	written map[int64]time.Time // token → use last written
	timer   *time.Timer
}

// NewTouches wraps st; flushDelay 0 means 10 s.
func NewTouches(st TokenStore, flushDelay time.Duration) *Touches {
	if flushDelay <= 0 {
		flushDelay = 10 * time.Second
	}
	return &Touches{TokenStore: st, flushDelay: flushDelay, pending: map[int64]time.Time{}, written: map[int64]time.Time{}}
}

// TouchToken records a use of token id at at, in memory.
func (t *Touches) TouchToken(_ context.Context, id int64, at time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if w, ok := t.written[id]; ok && at.Sub(w) < touchEvery {
		return nil
	}
	if p, ok := t.pending[id]; ok && !at.After(p) {
		return nil
	}
	t.pending[id] = at
	if t.timer == nil {
		t.timer = time.AfterFunc(t.flushDelay, func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			t.Flush(ctx) // a failure is retried at the next use
		})
	}
	return nil
}

// Flush writes the recorded uses now.
func (t *Touches) Flush(ctx context.Context) error {
	t.mu.Lock()
	pending := t.pending
	t.pending = map[int64]time.Time{}
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	// Tokens not used for a while need no memory of their last write.
	for id, w := range t.written {
		if time.Since(w) > 2*touchEvery {
			delete(t.written, id)
		}
	}
	t.mu.Unlock()
	var errs []error
	for id, at := range pending {
		if err := t.TokenStore.TouchToken(ctx, id, at); err != nil {
			errs = append(errs, err)
			continue
		}
		t.mu.Lock()
		t.written[id] = at
		t.mu.Unlock()
	}
	return errors.Join(errs...)
}
