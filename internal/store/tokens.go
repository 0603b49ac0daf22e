package store

import (
	"context"
	"fmt"
	"time"
)

// touchEvery is how stale a token's LastUsedAt may get: TouchToken writes
// only when the recorded use is older (the lookup path stays read-only
// for busy tokens).
const touchEvery = time.Minute

const tokenCols = `id, user_id, name, session, hash, scopes, expires_at, created_at, last_used_at, revoked_at`

func tokenDests(t *Token) []any {
	return []any{&t.ID, &t.UserID, &t.Name, &t.Session, &t.Hash, stringsDest{&t.Scopes},
		timeDest{&t.ExpiresAt}, timeDest{&t.CreatedAt}, ntimeDest{&t.LastUsedAt}, ntimeDest{&t.RevokedAt}}
}

// CreateToken stores a token (ID is assigned; CreatedAt defaults to now).
// A hash already stored is ErrConflict; an unknown user ErrNotFound.
func (db *DB) CreateToken(ctx context.Context, t Token) (Token, error) {
	if len(t.Hash) == 0 {
		return Token{}, invalidf("token without a hash")
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now()
	}
	t.CreatedAt, t.ExpiresAt = utc(t.CreatedAt), utc(t.ExpiresAt)
	t.LastUsedAt, t.RevokedAt = nil, nil
	err := db.writer().row(ctx, []any{&t.ID},
		`INSERT INTO tokens (user_id, name, session, hash, scopes, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		t.UserID, t.Name, t.Session, t.Hash, stringsArg(t.Scopes), db.tv(t.ExpiresAt), db.tv(t.CreatedAt))
	if err != nil {
		return Token{}, fmt.Errorf("store: create token: %w", err)
	}
	return t, nil
}

// TokenByHash returns the token whatever its expiry or revocation;
// callers check both.
func (db *DB) TokenByHash(ctx context.Context, hash []byte) (Token, error) {
	var t Token
	if err := db.reader().row(ctx, tokenDests(&t), `SELECT `+tokenCols+` FROM tokens WHERE hash = ?`, hash); err != nil {
		return Token{}, fmt.Errorf("store: token: %w", err)
	}
	return t, nil
}

// Token returns the token with the id.
func (db *DB) Token(ctx context.Context, id int64) (Token, error) {
	var t Token
	if err := db.reader().row(ctx, tokenDests(&t), `SELECT `+tokenCols+` FROM tokens WHERE id = ?`, id); err != nil {
		return Token{}, fmt.Errorf("store: token %d: %w", id, err)
	}
	return t, nil
}

// TouchToken records a use at at. It writes only when the recorded use is
// more than a minute older than at, so LastUsedAt may lag by up to a
// minute.
func (db *DB) TouchToken(ctx context.Context, id int64, at time.Time) error {
	at = utc(at)
	var last *time.Time
	if err := db.reader().row(ctx, []any{ntimeDest{&last}}, `SELECT last_used_at FROM tokens WHERE id = ?`, id); err != nil {
		return fmt.Errorf("store: touch token %d: %w", id, err)
	}
	if last != nil && at.Sub(*last) < touchEvery {
		return nil
	}
	if _, err := db.writer().exec(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`,
		db.tv(at), id, db.tv(at.Add(-touchEvery))); err != nil {
		return fmt.Errorf("store: touch token %d: %w", id, err)
	}
	return nil
}

// RevokeToken revokes a token at at (a token already revoked keeps its
// first revocation time).
func (db *DB) RevokeToken(ctx context.Context, id int64, at time.Time) error {
	res, err := db.writer().exec(ctx, `UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, db.tv(at), id)
	if err := affected(res, err); err != nil {
		return fmt.Errorf("store: revoke token %d: %w", id, err)
	}
	return nil
}

var tokensList = &listDef{
	tag:   "tokens",
	sorts: map[string]column{"created": {"created_at", kTime}},
	def:   "created",
	ties:  []column{{"id", kInt}},
	filters: map[string]filterFn{
		"user_id": fInt("user_id"),
		"session": fBool("session"),
	},
}

// ListTokens lists tokens. Filters: user_id, session ("true"/"false");
// sorts: created (default).
func (db *DB) ListTokens(ctx context.Context, o ListOptions) (Page[Token], error) {
	return list(ctx, db, tokensList, o, query[Token]{cols: tokenCols, from: "tokens", dests: tokenDests}, nil)
}
