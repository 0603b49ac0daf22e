package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// tokenStore is an in-memory TokenStore.
type tokenStore struct {
	tokens  map[string]store.Token
	users   map[int64]store.User
	touched map[int64]time.Time
	broken  bool
}

func (s *tokenStore) TokenByHash(_ context.Context, h []byte) (store.Token, error) {
	if s.broken {
		return store.Token{}, errors.New("disk on fire")
	}
	t, ok := s.tokens[string(h)]
	if !ok {
		return t, store.ErrNotFound
	}
	return t, nil
}

func (s *tokenStore) User(_ context.Context, id int64) (store.User, error) {
	u, ok := s.users[id]
	if !ok {
		return u, store.ErrNotFound
	}
	return u, nil
}

func (s *tokenStore) TouchToken(_ context.Context, id int64, at time.Time) error {
	s.touched[id] = at
	return nil
}

func TestAuthenticate(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	st := &tokenStore{
		tokens:  map[string]store.Token{},
		touched: map[int64]time.Time{},
		users: map[int64]store.User{
			1: {ID: 1, Name: "alice", Role: store.RoleAdmin},
			2: {ID: 2, Name: "bob", Role: store.RoleAnalyst, Disabled: true},
		},
	}
	add := func(kind Kind, tok store.Token) string {
		s := NewToken(kind)
		tok.Hash = Hash(s)
		st.tokens[string(tok.Hash)] = tok
		return s
	}
	later := now.Add(time.Hour)
	revokedAt := now.Add(-time.Minute)
	recent := now.Add(-10 * time.Second)
	good := add(KindAPI, store.Token{ID: 1, UserID: 1, Scopes: []string{"read"}, ExpiresAt: later})
	session := add(KindSession, store.Token{ID: 2, UserID: 1, Session: true, ExpiresAt: later, LastUsedAt: &recent})
	cases := map[string]string{
		"empty":         "",
		"malformed":     "vgl_api_short",
		"forged":        NewToken(KindAPI),
		"enrollment":    add(KindEnroll, store.Token{ID: 3, UserID: 1, ExpiresAt: later}),
		"kind mismatch": add(KindAPI, store.Token{ID: 4, UserID: 1, Session: true, ExpiresAt: later}),
		"revoked":       add(KindAPI, store.Token{ID: 5, UserID: 1, ExpiresAt: later, RevokedAt: &revokedAt}),
		"expired":       add(KindAPI, store.Token{ID: 6, UserID: 1, ExpiresAt: now}),
		"deleted user":  add(KindAPI, store.Token{ID: 7, UserID: 99, ExpiresAt: later}),
		"disabled user": add(KindAPI, store.Token{ID: 8, UserID: 2, ExpiresAt: later}),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Authenticate(context.Background(), st, tok, now); !errors.Is(err, ErrUnauthenticated) {
				t.Errorf("Authenticate = %v; want ErrUnauthenticated", err)
			}
		})
	}

	p, err := Authenticate(context.Background(), st, good, now)
	if err != nil {
		t.Fatal(err)
	}
	if p.User.Name != "alice" || p.Role != store.RoleReadOnly || p.Token.ID != 1 {
		t.Errorf("principal = %+v", p)
	}
	if st.touched[1] != now {
		t.Error("first use not recorded")
	}
	if _, err := Authenticate(context.Background(), st, session, now); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.touched[2]; ok {
		t.Error("use recorded again within a minute")
	}

	st.broken = true
	if _, err := Authenticate(context.Background(), st, good, now); err == nil || errors.Is(err, ErrUnauthenticated) {
		t.Errorf("store failure = %v; want a plain error", err)
	}
}
