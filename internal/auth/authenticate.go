package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// ErrUnauthenticated is returned by Authenticate for a missing, malformed,
// unknown, expired or revoked token, or one of a disabled or deleted user.
// The wrapped text says which, for logs; responses must not.
var ErrUnauthenticated = errors.New("auth: not authenticated")

// TokenStore is what Authenticate needs of the store.
type TokenStore interface {
	TokenByHash(ctx context.Context, hash []byte) (store.Token, error)
	User(ctx context.Context, id int64) (store.User, error)
	TouchToken(ctx context.Context, id int64, at time.Time) error
}

// touchEvery is how stale a token's LastUsedAt may get before a use is
// written again.
const touchEvery = time.Minute

// BearerToken returns the token of an "Authorization: Bearer <token>"
// header value, or "" when there is none.
func BearerToken(header string) string {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// Authenticate resolves a bearer token to a Principal at now. Only API
// and session tokens authenticate requests; enrollment tokens do not. A
// use is recorded on the token at most once a minute; failing to record
// it does not fail the request. Store failures other than not-found are
// returned as they are, not as ErrUnauthenticated.
func Authenticate(ctx context.Context, st TokenStore, token string, now time.Time) (Principal, error) {
	if token == "" {
		return Principal{}, fmt.Errorf("%w: no token", ErrUnauthenticated)
	}
	kind, err := ParseToken(token)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	if kind != KindAPI && kind != KindSession {
		return Principal{}, fmt.Errorf("%w: %s token used as a bearer", ErrUnauthenticated, kind)
	}
	t, err := st.TokenByHash(ctx, Hash(token))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Principal{}, fmt.Errorf("%w: unknown token", ErrUnauthenticated)
	case err != nil:
		return Principal{}, fmt.Errorf("look up token: %w", err)
	case t.Session != (kind == KindSession):
		return Principal{}, fmt.Errorf("%w: token %d kind mismatch", ErrUnauthenticated, t.ID)
	case t.RevokedAt != nil:
		return Principal{}, fmt.Errorf("%w: token %d revoked", ErrUnauthenticated, t.ID)
	case !now.Before(t.ExpiresAt):
		return Principal{}, fmt.Errorf("%w: token %d expired", ErrUnauthenticated, t.ID)
	}
	u, err := st.User(ctx, t.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Principal{}, fmt.Errorf("%w: token %d of a deleted user", ErrUnauthenticated, t.ID)
	case err != nil:
		return Principal{}, fmt.Errorf("look up user of token %d: %w", t.ID, err)
	case u.Disabled:
		return Principal{}, fmt.Errorf("%w: user %d disabled", ErrUnauthenticated, u.ID)
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= touchEvery {
		if st.TouchToken(ctx, t.ID, now) == nil {
			t.LastUsedAt = &now
		}
	}
	return NewPrincipal(u, t), nil
}
