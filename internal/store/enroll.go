package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

const enrollCols = `id, name, hash, labels, expires_at, max_uses, uses, revoked_at, created_by, created_at`

func enrollDests(t *EnrollToken) []any {
	return []any{&t.ID, &t.Name, &t.Hash, labelsDest{&t.Labels}, timeDest{&t.ExpiresAt}, &t.MaxUses, &t.Uses,
		ntimeDest{&t.RevokedAt}, &t.CreatedBy, timeDest{&t.CreatedAt}}
}

// CreateEnrollToken stores an enrollment token (ID is assigned, Uses
// starts at 0, CreatedAt defaults to now). A hash already stored is
// ErrConflict.
func (db *DB) CreateEnrollToken(ctx context.Context, t EnrollToken) (EnrollToken, error) {
	if len(t.Hash) == 0 || t.MaxUses < 0 {
		return EnrollToken{}, invalidf("enrollment token without a hash or with negative max uses")
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now()
	}
	t.CreatedAt, t.ExpiresAt = utc(t.CreatedAt), utc(t.ExpiresAt)
	t.Uses, t.RevokedAt = 0, nil
	err := db.writer().row(ctx, []any{&t.ID},
		`INSERT INTO enroll_tokens (name, hash, labels, expires_at, max_uses, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		t.Name, t.Hash, labelsArg(t.Labels), db.tv(t.ExpiresAt), t.MaxUses, t.CreatedBy, db.tv(t.CreatedAt))
	if err != nil {
		return EnrollToken{}, fmt.Errorf("store: create enrollment token: %w", err)
	}
	return t, nil
}

// EnrollToken returns the enrollment token with the id.
func (db *DB) EnrollToken(ctx context.Context, id int64) (EnrollToken, error) {
	var t EnrollToken
	if err := db.reader().row(ctx, enrollDests(&t), `SELECT `+enrollCols+` FROM enroll_tokens WHERE id = ?`, id); err != nil {
		return EnrollToken{}, fmt.Errorf("store: enrollment token %d: %w", id, err)
	}
	return t, nil
}

var enrollList = &listDef{
	tag:   "enroll_tokens",
	sorts: map[string]column{"created": {"created_at", kTime}, "expires": {"expires_at", kTime}},
	def:   "created",
	ties:  []column{{"id", kInt}},
	filters: map[string]filterFn{
		"active": nil, // with "now", below
		"now":    nil,
	},
}

// ListEnrollTokens lists enrollment tokens. Filters: active ("true": not
// expired, revoked or used up at Filter "now" (RFC 3339) or time.Now;
// "false": the others); sorts: created (default), expires.
func (db *DB) ListEnrollTokens(ctx context.Context, o ListOptions) (Page[EnrollToken], error) {
	w := &where{db: db}
	now := time.Now()
	if v, ok := o.Filter["now"]; ok {
		t, err := parseTime("now", v)
		if err != nil {
			return Page[EnrollToken]{}, err
		}
		now = t
	}
	if v, ok := o.Filter["active"]; ok {
		b, err := parseBool("active", v)
		if err != nil {
			return Page[EnrollToken]{}, err
		}
		active := `(revoked_at IS NULL AND expires_at > ? AND (max_uses = 0 OR uses < max_uses))`
		if !b {
			active = "NOT " + active
		}
		w.add(active, db.tv(now))
	}
	return list(ctx, db, enrollList, o, query[EnrollToken]{cols: enrollCols, from: "enroll_tokens", dests: enrollDests}, w)
}

// RevokeEnrollToken revokes an enrollment token (a token already revoked
// keeps its first revocation time).
func (db *DB) RevokeEnrollToken(ctx context.Context, id int64, at time.Time) error {
	res, err := db.writer().exec(ctx, `UPDATE enroll_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, db.tv(at), id)
	if err := affected(res, err); err != nil {
		return fmt.Errorf("store: revoke enrollment token %d: %w", id, err)
	}
	return nil
}

// UseEnrollToken atomically checks the token with this hash is valid at
// now (not revoked, now before ExpiresAt, fewer than MaxUses uses) and
// counts one use, returning the token with the use counted; otherwise it
// returns ErrEnrollToken whatever the reason.
func (db *DB) UseEnrollToken(ctx context.Context, hash []byte, now time.Time) (EnrollToken, error) {
	var t EnrollToken
	// One statement: the check and the count cannot interleave with
	// another enrollment's.
	err := db.writer().row(ctx, enrollDests(&t),
		`UPDATE enroll_tokens SET uses = uses + 1
		WHERE hash = ? AND revoked_at IS NULL AND expires_at > ? AND (max_uses = 0 OR uses < max_uses)
		RETURNING `+enrollCols, hash, db.tv(now))
	if errors.Is(err, ErrNotFound) {
		return EnrollToken{}, ErrEnrollToken
	}
	if err != nil {
		return EnrollToken{}, fmt.Errorf("store: use enrollment token: %w", err)
	}
	return t, nil
}
