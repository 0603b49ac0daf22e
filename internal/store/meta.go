package store

import (
	"context"
	"fmt"
)

// Meta returns a server fact; ErrNotFound when unset.
func (db *DB) Meta(ctx context.Context, key string) (string, error) {
	var v string
	if err := db.reader().row(ctx, []any{&v}, `SELECT value FROM meta WHERE key = ?`, key); err != nil {
		return "", fmt.Errorf("store: meta %s: %w", key, err)
	}
	return v, nil
}

// SetMeta sets a server fact.
func (db *DB) SetMeta(ctx context.Context, key, value string) error {
	if _, err := db.writer().exec(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
		return fmt.Errorf("store: set meta %s: %w", key, err)
	}
	return nil
}
