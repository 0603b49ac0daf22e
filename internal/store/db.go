package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The dialects DB speaks.
const (
	dialectSQLite   = "sqlite"
	dialectPostgres = "postgres"
)

// DB is the Store over an SQLite file or a PostgreSQL database.
//
// SQLite: one write connection (every write transaction runs on it, so
// concurrent writers queue in Go instead of failing with SQLITE_BUSY) and
// a pool of read-only connections that read in parallel with it (WAL).
// PostgreSQL: a pool for writes and one for reads.
type DB struct {
	dialect string
	w       *sql.DB // writes and transactions
	r       *sql.DB // reads
	// hot are the SQLite write connection's statements prepared when the
	// store opens (prepared.go).
	hot map[string]*sql.Stmt
	// cp checkpoints an SQLite store's WAL (checkpoint.go).
	cp *checkpointer
	// optimized is when SQLite's planner statistics were last refreshed
	// (unix seconds).
	optimized atomic.Int64
}

// sqliteAnalysisLimit bounds the rows PRAGMA optimize samples per index
// (a full ANALYZE runs after migrations: DB.analyze).
const sqliteAnalysisLimit = 1000

// optimizeTimeout bounds PRAGMA optimize, which also counts each analyzed
// table's rows: on a 13.5 GB file that took more than 5 minutes. An
// interrupted optimize keeps the statistics it had.
const optimizeTimeout = 5 * time.Second

// optimizeEvery is how often a long-running SQLite store refreshes its
// planner statistics (PRAGMA optimize, after a write transaction).
const optimizeEvery = time.Hour

var _ Store = (*DB)(nil)

// sqliteSync is the synchronous setting of the SQLite write connection.
//
// NORMAL under WAL: a transaction is durable once COMMIT returns as far as
// the server process is concerned — the WAL frames are written to the
// operating system before COMMIT returns, so kill -9 of the server loses
// nothing acknowledged. Only a power loss or kernel crash can lose the last
// transactions before the next checkpoint (never corrupting the file).
// Deployments that must also survive power loss open the database with
// "sqlite:///path?synchronous=full".
const sqliteSync = "NORMAL"

// Open opens (creating if needed) the store at url and applies pending
// migrations. url is a file path, "sqlite:///path" (optionally with
// "?synchronous=full") or a "postgres://" (or "postgresql://") URL.
func Open(ctx context.Context, url string) (*DB, error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return openPostgres(ctx, url)
	case strings.HasPrefix(url, "sqlite:"):
		path, query, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "//"), "?")
		return openSQLite(ctx, path, query)
	default:
		return openSQLite(ctx, url, "")
	}
}

func openSQLite(ctx context.Context, path, query string) (*DB, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("%w: sqlite store needs a file path, got %q", ErrInvalid, path)
	}
	sync := sqliteSync
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return nil, fmt.Errorf("%w: sqlite options %q: %v", ErrInvalid, query, err)
		}
		for k, v := range q {
			switch {
			case k == "synchronous" && len(v) == 1 && (strings.EqualFold(v[0], "normal") || strings.EqualFold(v[0], "full")):
				sync = strings.ToUpper(v[0])
			default:
				return nil, fmt.Errorf("%w: unknown sqlite option %s=%v (want synchronous=normal|full)", ErrInvalid, k, v)
			}
		}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// The file holds password and token hashes: only its owner reads it.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	f.Close()

	// Readers never wait for the writer under WAL (each reads its own
	// snapshot); busy_timeout covers the short moments a checkpoint or
	// recovery locks them out. The write connection, which group commit
	// keeps busy, gets the larger page cache: batches of many agents'
	// messages touch pages all over a large file.
	common := []string{"busy_timeout(10000)", "foreign_keys(1)", "temp_store(MEMORY)"}
	// Its commits checkpoint only as a backstop: a checkpointer does, on a
	// connection of its own (checkpoint.go).
	wuri := sqliteURI(abs, "immediate", append([]string{"journal_mode(WAL)", "synchronous(" + sync + ")",
		"analysis_limit(" + strconv.Itoa(sqliteAnalysisLimit) + ")", "cache_size(-131072)",
		"wal_autocheckpoint(" + strconv.Itoa(walBackstopPages) + ")",
		"journal_size_limit(" + strconv.Itoa(walSizeLimit) + ")"}, common...))
	curi := sqliteURI(abs, "", append([]string{"synchronous(" + sync + ")", "cache_size(-2048)"}, common...))
	ruri := sqliteURI(abs, "", append([]string{"query_only(1)", "cache_size(-32768)"}, common...))

	db := &DB{dialect: dialectSQLite}
	if db.w, err = sql.Open("sqlite", wuri); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	db.w.SetMaxOpenConns(1)
	db.w.SetMaxIdleConns(1)
	db.w.SetConnMaxLifetime(0)
	db.w.SetConnMaxIdleTime(0)
	// The write connection makes the file WAL before any reader opens it.
	if err := db.w.PingContext(ctx); err != nil {
		db.w.Close()
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	if db.r, err = sql.Open("sqlite", ruri); err != nil {
		db.w.Close()
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	// More readers than cores: a quick indexed page need not wait for a
	// slow one (SQLite reads never wait for the writer under WAL).
	n := max(2*runtime.GOMAXPROCS(0), 8)
	db.r.SetMaxOpenConns(n)
	db.r.SetMaxIdleConns(n)
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.prepareHot(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if db.cp, err = startCheckpointer(curi); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	// Gathers the planner's statistics where they are missing or stale
	// (bounded by analysis_limit and optimizeTimeout).
	db.optimize(ctx)
	db.optimized.Store(time.Now().Unix())
	return db, nil
}

// sqliteURI is the modernc.org/sqlite DSN of the file at abs.
func sqliteURI(abs, txlock string, pragmas []string) string {
	v := url.Values{}
	for _, p := range pragmas {
		v.Add("_pragma", p)
	}
	if txlock != "" {
		// BEGIN IMMEDIATE: a write transaction takes the write lock at once,
		// never upgrading a read lock midway (which can fail with BUSY).
		v.Set("_txlock", txlock)
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: v.Encode()}
	return u.String()
}

func openPostgres(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("%w: postgres URL: %v", ErrInvalid, err)
	}
	// pgx prepares and caches every statement; PostgreSQL would switch a
	// cached statement to a generic plan after five runs, blind to the
	// values that decide the plan of a filtered list (kind=host is 10% of
	// assets, status=accepted 1% of findings). Lists plan in well under
	// a millisecond: always plan for the values.
	if _, ok := cfg.RuntimeParams["plan_cache_mode"]; !ok {
		cfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	// Two pools: writes (ingest, whose group commit holds few connections)
	// and reads (the API), so a list never waits for a connection behind
	// hundreds of ingest requests. Idle connections are kept: reopening
	// one costs more than a simple query.
	w := stdlib.OpenDB(*cfg)
	w.SetMaxOpenConns(16)
	w.SetMaxIdleConns(16)
	r := stdlib.OpenDB(*cfg)
	r.SetMaxOpenConns(16)
	r.SetMaxIdleConns(16)
	db := &DB{dialect: dialectPostgres, w: w, r: r}
	if err := w.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the database.
func (db *DB) Close() error {
	var errs []error
	if db.r != nil && db.r != db.w {
		errs = append(errs, db.r.Close())
	}
	for _, st := range db.hot {
		errs = append(errs, st.Close())
	}
	if db.w != nil {
		if db.dialect == dialectSQLite {
			// Keeps the planner's statistics fresh (cheap when nothing
			// changed, and bounded when much did).
			db.optimize(context.Background())
		}
		errs = append(errs, db.w.Close())
	}
	if db.cp != nil {
		errs = append(errs, db.cp.close())
	}
	return errors.Join(errs...)
}

// Dialect is "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.dialect }

// pg says whether the dialect is PostgreSQL.
func (db *DB) pg() bool { return db.dialect == dialectPostgres }

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// conn binds a querier to the dialect: queries are written with ?
// placeholders and rebound for PostgreSQL.
type conn struct {
	db *DB
	q  querier
}

func (c conn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := c.prepared(ctx, query); st != nil {
		defer st.Close()
		res, err := st.ExecContext(ctx, args...)
		return res, c.db.mapErr(err)
	}
	res, err := c.q.ExecContext(ctx, c.db.rebind(query), args...)
	return res, c.db.mapErr(err)
}

func (c conn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := c.prepared(ctx, query); st != nil {
		// Closed with the transaction: the rows still need it.
		rows, err := st.QueryContext(ctx, args...)
		return rows, c.db.mapErr(err)
	}
	rows, err := c.q.QueryContext(ctx, c.db.rebind(query), args...)
	return rows, c.db.mapErr(err)
}

func (c conn) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	st, err := c.q.PrepareContext(ctx, c.db.rebind(query))
	return st, c.db.mapErr(err)
}

// row runs a query of at most one row and scans it into dest; no row is
// ErrNotFound.
func (c conn) row(ctx context.Context, dest []any, query string, args ...any) error {
	var err error
	if st := c.prepared(ctx, query); st != nil {
		err = st.QueryRowContext(ctx, args...).Scan(dest...)
		st.Close()
	} else {
		err = c.q.QueryRowContext(ctx, c.db.rebind(query), args...).Scan(dest...)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return c.db.mapErr(err)
}

// reader is the connection for reads outside a transaction.
func (db *DB) reader() conn { return conn{db, db.r} }

// writer is the connection for single-statement writes.
func (db *DB) writer() conn { return conn{db, db.w} }

// tx runs fn in one write transaction, committing when it returns nil.
// fn must use only the conn it is given: on SQLite the write connection is
// held for the whole transaction.
func (db *DB) tx(ctx context.Context, fn func(c conn) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", db.mapErr(err))
	}
	if err := fn(conn{db, tx}); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", db.mapErr(err))
	}
	db.maybeOptimize(ctx)
	return nil
}

// maybeOptimize refreshes SQLite's planner statistics when they are older
// than optimizeEvery: the store starts empty, and the plans of lists over
// large tables depend on them. It is cheap (analysis_limit bounds it) and
// its failure harmless.
func (db *DB) maybeOptimize(ctx context.Context) {
	if db.pg() {
		return // autovacuum analyzes
	}
	now := time.Now().Unix()
	last := db.optimized.Load()
	if now-last < int64(optimizeEvery/time.Second) || !db.optimized.CompareAndSwap(last, now) {
		return
	}
	db.optimize(ctx)
}

// optimize runs SQLite's PRAGMA optimize on the write connection,
// analyzing (with analysis_limit) the tables whose statistics are missing
// or stale, within optimizeTimeout: the driver interrupts it at the
// deadline. Its failure is harmless.
func (db *DB) optimize(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, optimizeTimeout)
	defer cancel()
	db.w.ExecContext(ctx, "PRAGMA optimize=0x10002")
}

// rebind turns ? placeholders into $1, $2, … for PostgreSQL, leaving
// quoted strings and identifiers alone.
func (db *DB) rebind(q string) string {
	if !db.pg() || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		ch := q[i]
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
			}
		case ch == '\'' || ch == '"':
			quote = ch
		case ch == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(ch)
	}
	return b.String()
}

// mapErr turns constraint violations into the package's sentinels.
func (db *DB) mapErr(err error) error {
	if err == nil || errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalid) {
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: %v", ErrNotFound, err)
		case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL:
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %v", ErrConflict, err)
		case "23503": // foreign_key_violation
			return fmt.Errorf("%w: %v", ErrNotFound, err)
		case "23502", "23514", "22P02", "22001", "22003", "22021": // not null, check, bad text, too long, out of range, bad encoding
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	return err
}
