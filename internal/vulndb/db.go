package vulndb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/vigil-sec/vigil/internal/advisory"
	"github.com/vigil-sec/vigil/internal/vuln"
)

var _ vuln.Source = (*DB)(nil)

// cacheBytes bounds the memory of the decoded advisory records a DB
// keeps (about 40,000 Debian records, 20,000 OSV records with long
// details).
const cacheBytes = 48 << 20

// DB is an open database. It is safe for concurrent use; it never writes
// to its file.
type DB struct {
	path   string
	db     *sql.DB
	meta   Meta
	stmts  dbStmts
	dec    *blobDecoder
	cache  *recordCache
	closed bool
}

type dbStmts struct {
	affected, epss, kev *sql.Stmt
}

// readPragmas apply to every reading connection. The file is opened with
// mode=ro and immutable=1: SQLite takes no locks, creates no journal and
// never writes, which is sound because a Builder never changes a finished
// file (a rebuild replaces it by rename; open readers keep the old one).
// No mmap: a file overwritten in place by hand (cp over it) must give read
// errors, not SIGBUS.
var readPragmas = []string{
	"query_only(1)",
	"cache_size(-16384)", // 16 MiB per connection
}

// Open opens the database at path for reading. It fails with ErrNotFound
// when there is no file, with a *SchemaError (matching ErrSchema) when the
// file has another SchemaVersion, and with an error matching ErrCorrupt
// when the file is not a whole Vigil database.
func Open(path string) (*DB, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s (build it with 'vigil db update')", ErrNotFound, path)
	}
	if err != nil {
		return nil, fmt.Errorf("vulndb: %w", err)
	}
	h, err := readHeader(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	if err := checkHeader(path, h); err != nil {
		return nil, err
	}
	db := &DB{path: path, cache: newRecordCache(cacheBytes)}
	if err := db.open(int(h.userVersion)); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) open(version int) error {
	uri, err := fileURI(db.path, uriQuery([]string{"mode", "ro", "immutable", "1"}, readPragmas...))
	if err != nil {
		return fmt.Errorf("vulndb: %w", err)
	}
	if db.db, err = sql.Open("sqlite", uri); err != nil {
		return fmt.Errorf("vulndb: open %s: %w", db.path, err)
	}
	n := runtime.GOMAXPROCS(0)
	db.db.SetMaxOpenConns(n)
	db.db.SetMaxIdleConns(n)
	if db.dec, err = newBlobDecoder(n); err != nil {
		return fmt.Errorf("vulndb: %w", err)
	}
	var js string
	if err := db.db.QueryRow(`SELECT value FROM meta WHERE key = ?`, metaKey).Scan(&js); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return corruptf("%s: no meta row", db.path)
		}
		// Whatever stops SQLite reading the meta table (damage, missing
		// tables under a Vigil header) makes the file unusable.
		return corruptf("%s: read meta: %w", db.path, err)
	}
	if err := json.Unmarshal([]byte(js), &db.meta); err != nil {
		return corruptf("%s: meta: %w", db.path, err)
	}
	db.meta.SchemaVersion = version
	for _, s := range []struct {
		st  **sql.Stmt
		sql string
	}{
		{&db.stmts.affected, `SELECT f.advisory, f.entries, a.record FROM affected AS f
			JOIN advisories AS a ON a.id = f.advisory
			WHERE f.ecosystem = ? AND f.name = ?`},
		{&db.stmts.epss, `SELECT score, percentile, date FROM epss WHERE cve = ?`},
		{&db.stmts.kev, `SELECT record FROM kev WHERE cve = ?`},
	} {
		if *s.st, err = db.db.Prepare(s.sql); err != nil {
			// A Vigil header on a file without Vigil's tables.
			return corruptf("%s: %w", db.path, err)
		}
	}
	return nil
}

// queryErr wraps an error of SQLite reading the file, marking the ones
// that say the file is damaged as ErrCorrupt.
func (db *DB) queryErr(what string, err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_FORMAT, sqlite3.SQLITE_IOERR:
			return corruptf("%s: %s: %w", db.path, what, err)
		}
	}
	return fmt.Errorf("vulndb: %s: %s: %w", db.path, what, err)
}

// Meta describes the database.
func (db *DB) Meta() Meta {
	m := db.meta
	m.Sources = slices.Clone(m.Sources)
	m.ByEcosystem = maps.Clone(m.ByEcosystem)
	return m
}

// Affected returns the advisories with an Affected entry for package name
// in ecosystem, ordered by ID. The ecosystem is matched exactly, release
// included ("Debian:11" matches neither "Debian:12" nor "Debian"); the
// name after the ecosystem's normalisation (PyPI names by PEP 503, ...).
// Each advisory's Affected holds only the entries for that package; the
// caller owns the result. Withdrawn advisories are returned, with
// Withdrawn set.
func (db *DB) Affected(ctx context.Context, ecosystem, name string) ([]advisory.Advisory, error) {
	ecosystem = strings.TrimSpace(ecosystem)
	key := nameKey(ecosystem, name)
	if ecosystem == "" || key == "" {
		return nil, nil
	}
	rows, err := db.stmts.affected.QueryContext(ctx, ecosystem, key)
	if err != nil {
		return nil, db.queryErr("affected", err)
	}
	defer rows.Close()
	var out []advisory.Advisory
	for rows.Next() {
		// RawBytes: the driver has copied the blobs once already, and
		// the record blob is decoded only when the cache lacks it.
		var row int64
		var entries, record sql.RawBytes
		if err := rows.Scan(&row, &entries, &record); err != nil {
			return nil, db.queryErr("affected", err)
		}
		rec, err := db.record(row, record)
		if err != nil {
			return nil, err
		}
		a := cloneRecord(rec)
		if err := db.dec.decode(entries, &a.Affected); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", db.path, a.ID, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, db.queryErr("affected", err)
	}
	slices.SortFunc(out, func(a, b advisory.Advisory) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// record returns the decoded record of advisories row id, from the cache
// when it is there, else from blob. The result is shared: never change it.
func (db *DB) record(row int64, blob []byte) (*advisory.Advisory, error) {
	if a, ok := db.cache.get(row); ok {
		return a, nil
	}
	a := new(advisory.Advisory)
	if err := db.dec.decode(blob, a); err != nil {
		return nil, fmt.Errorf("%s: advisory row %d: %w", db.path, row, err)
	}
	a.Affected = nil
	db.cache.put(row, a, recordCost(a))
	return a, nil
}

// EPSS returns the EPSS score of cve (case-insensitive); ok is false when
// it has none.
func (db *DB) EPSS(ctx context.Context, cve string) (advisory.EPSS, bool, error) {
	e := advisory.EPSS{CVE: normalizeCVE(cve)}
	var date int64
	err := db.stmts.epss.QueryRowContext(ctx, e.CVE).Scan(&e.Score, &e.Percentile, &date)
	if errors.Is(err, sql.ErrNoRows) {
		return advisory.EPSS{}, false, nil
	}
	if err != nil {
		return advisory.EPSS{}, false, db.queryErr("epss", err)
	}
	if date != 0 {
		e.Date = time.Unix(date, 0).UTC()
	}
	return e, true, nil
}

// KEV returns the Known Exploited Vulnerabilities entry of cve
// (case-insensitive); ok is false when it has none.
func (db *DB) KEV(ctx context.Context, cve string) (advisory.KEV, bool, error) {
	cve = normalizeCVE(cve)
	var blob []byte
	err := db.stmts.kev.QueryRowContext(ctx, cve).Scan(&blob)
	if errors.Is(err, sql.ErrNoRows) {
		return advisory.KEV{}, false, nil
	}
	if err != nil {
		return advisory.KEV{}, false, db.queryErr("kev", err)
	}
	var k advisory.KEV
	if err := db.dec.decode(blob, &k); err != nil {
		return advisory.KEV{}, false, fmt.Errorf("%s: kev %s: %w", db.path, cve, err)
	}
	return k, true, nil
}

// Stale says whether the data is older than maxAge at now. The data's age
// is that of its oldest input (the earliest SourceMeta.Fetched), or the
// build time when no input says when it was fetched. A maxAge of zero or
// less disables the check.
func (db *DB) Stale(maxAge time.Duration, now time.Time) bool {
	if maxAge <= 0 {
		return false
	}
	return now.Sub(db.dataTime()) > maxAge
}

// dataTime is when the data was current: see Stale.
func (db *DB) dataTime() time.Time {
	var t time.Time
	for _, s := range db.meta.Sources {
		if !s.Fetched.IsZero() && (t.IsZero() || s.Fetched.Before(t)) {
			t = s.Fetched
		}
	}
	if t.IsZero() {
		return db.meta.BuiltAt
	}
	return t
}

// Close releases the database. Lookups after Close fail; a second Close
// does nothing.
func (db *DB) Close() error {
	if db.closed {
		return nil
	}
	db.closed = true
	var errs []error
	for _, st := range []*sql.Stmt{db.stmts.affected, db.stmts.epss, db.stmts.kev} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if db.db != nil {
		errs = append(errs, db.db.Close())
	}
	if db.dec != nil {
		db.dec.close()
	}
	return errors.Join(errs...)
}
