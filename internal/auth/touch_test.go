package auth

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// TestTouchesKeepAuthenticationReadOnly: authenticating through Touches
// writes nothing to the store; the use is written by Flush, once per token
// per minute however many requests there were.
func TestTouchesKeepAuthenticationReadOnly(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	st := &tokenStore{
		tokens:  map[string]store.Token{},
		touched: map[int64]time.Time{},
		users:   map[int64]store.User{1: {ID: 1, Name: "alice", Role: store.RoleAdmin}},
	}
	secret := NewToken(KindAPI)
	st.tokens[string(Hash(secret))] = store.Token{ID: 7, UserID: 1, Hash: Hash(secret), ExpiresAt: now.Add(time.Hour)}
	touches := NewTouches(st, time.Hour) // no background flush during the test
	for i := range 50 {
		if _, err := Authenticate(ctx, touches, secret, now.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if len(st.touched) != 0 {
		t.Fatalf("authentication wrote to the store: %v", st.touched)
	}
	if err := touches.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	last := now.Add(49 * time.Second)
	if got := st.touched[7]; !got.Equal(last) {
		t.Errorf("flushed use %v, want the latest %v", got, last)
	}
	// Within a minute of the written use nothing more is written.
	delete(st.touched, 7)
	if _, err := Authenticate(ctx, touches, secret, last.Add(59*time.Second)); err != nil {
		t.Fatal(err)
	}
	touches.Flush(ctx)
	if len(st.touched) != 0 {
		t.Errorf("use written again within a minute: %v", st.touched)
	}
	if _, err := Authenticate(ctx, touches, secret, last.Add(61*time.Second)); err != nil {
		t.Fatal(err)
	}
	touches.Flush(ctx)
	if got := st.touched[7]; !got.Equal(last.Add(61 * time.Second)) {
		t.Errorf("use after a minute written as %v", got)
	}
}
