package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Statements the SQLite write connection runs for nearly every agent
// message are prepared once, when the store opens: parsing UpsertAsset's
// two statements alone was a third of its cost during a fleet's first
// inventories (bench/cmd/agentsim/notes.md). They are a fixed list rather
// than a cache filled on first use because database/sql cannot prepare
// on the one write connection while a transaction holds it, and every
// ingest statement runs inside one. PostgreSQL needs none of this: pgx
// keeps its own per-connection statement cache.

// hotStatements are the statements prepared up front (SQLite texts).
func hotStatements() []string {
	return []string{upsertAssetSQLite.update, upsertAssetSQLite.insert, liveAssetsQuery, assetExistsQuery}
}

// prepareHot prepares hotStatements on the SQLite write connection.
func (db *DB) prepareHot(ctx context.Context) error {
	db.hot = map[string]*sql.Stmt{}
	for _, q := range hotStatements() {
		st, err := db.w.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("store: prepare %.40q: %w", q, err)
		}
		db.hot[q] = st
	}
	return nil
}

// prepared returns query's prepared statement bound to c's transaction,
// or nil when query is not a hot statement or c is no transaction of the
// write connection. The caller closes it.
func (c conn) prepared(ctx context.Context, query string) *sql.Stmt {
	st := c.db.hot[query]
	if st == nil {
		return nil
	}
	tx, ok := c.q.(*sql.Tx)
	if !ok {
		return nil
	}
	return tx.StmtContext(ctx, st)
}
