package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// migrations holds the numbered schema changes of each dialect:
// migrations/<dialect>/NNNN_name.sql. Both dialects have the same numbers;
// a migration is applied once, in order, in one transaction with its row
// in schema_migrations.
//
//go:embed migrations
var migrations embed.FS

// migration is one numbered schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations returns the dialect's migrations in order.
func loadMigrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	ents, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	var ms []migration
	for _, e := range ents {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("store: migration file %s: want NNNN_name.sql", e.Name())
		}
		b, err := migrations.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("store: migrations: %w", err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := range ms {
		if ms[i].version != i+1 {
			return nil, fmt.Errorf("store: migrations of %s: want version %d, have %d", dialect, i+1, ms[i].version)
		}
	}
	return ms, nil
}

// migrate applies the pending migrations in one transaction. A database
// migrated by a newer server (a version this binary does not know) is
// refused rather than used with a schema it does not understand.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := loadMigrations(db.dialect)
	if err != nil {
		return err
	}
	applied := 0
	err = db.tx(ctx, func(c conn) error {
		applied = 0
		if db.pg() {
			// Servers starting together migrate one at a time.
			if _, err := c.exec(ctx, `SELECT pg_advisory_xact_lock(7346210001)`); err != nil {
				return err
			}
		}
		timeType := "INTEGER"
		if db.pg() {
			timeType = "TIMESTAMPTZ"
		}
		if _, err := c.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at `+timeType+` NOT NULL
		)`); err != nil {
			return err
		}
		have := 0
		if err := c.row(ctx, []any{&have}, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`); err != nil {
			return err
		}
		if have > len(ms) {
			return fmt.Errorf("store: database schema version %d is newer than this server's %d", have, len(ms))
		}
		for _, m := range ms[have:] {
			if err := execScript(ctx, c, m.sql); err != nil {
				return fmt.Errorf("store: migration %d_%s: %w", m.version, m.name, err)
			}
			if _, err := c.exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, db.tv(time.Now())); err != nil {
				return err
			}
			applied++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if applied > 0 {
		if err := db.analyze(ctx); err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
	}
	return nil
}

// analyze gathers the planner's statistics over whole tables and indexes,
// after migrations that add or rebuild indexes. On SQLite the write
// connection otherwise samples (analysis_limit): sampled statistics of a
// status or kind index see one value and mislead the planner (open
// findings newest first sorted 780,000 rows instead of reading 51 in
// order, bench/CONSOLE.md), and PRAGMA optimize never analyzes an index
// that has no statistics yet. It takes seconds on a large file, once per
// schema change.
func (db *DB) analyze(ctx context.Context) error {
	if db.pg() {
		if _, err := db.w.ExecContext(ctx, `ANALYZE`); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
		return nil
	}
	c, err := db.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	defer c.Close()
	_, err = c.ExecContext(ctx, `PRAGMA analysis_limit = 0`)
	if err == nil {
		_, err = c.ExecContext(ctx, `ANALYZE`)
	}
	if _, rerr := c.ExecContext(ctx, `PRAGMA analysis_limit = `+strconv.Itoa(sqliteAnalysisLimit)); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}

// execScript runs the statements of a migration one by one (statements
// end with ";" at the end of a line; no migration holds a function body).
func execScript(ctx context.Context, c conn, script string) error {
	var stmt strings.Builder
	for line := range strings.SplitSeq(script, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		stmt.WriteString(line)
		stmt.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			if _, err := c.q.ExecContext(ctx, stmt.String()); err != nil {
				return fmt.Errorf("%w\n%s", err, stmt.String())
			}
			stmt.Reset()
		}
	}
	if strings.TrimSpace(stmt.String()) != "" {
		return fmt.Errorf("statement without a final ';': %s", stmt.String())
	}
	return nil
}
