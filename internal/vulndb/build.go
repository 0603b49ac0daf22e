package vulndb

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/advisory"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Builder writes a new database. It writes to a temporary file beside the
// final path, in one transaction with journaling and syncing off, and only
// Finish moves it onto the path (by rename, after an fsync): a build that
// fails or is aborted leaves the database already at the path untouched,
// and readers of that database never see a partial file.
//
// A Builder is not safe for concurrent use. Call Abort (a no-op after
// Finish) when giving up; `defer b.Abort()` is the usual form.
type Builder struct {
	path, tmp string
	// packed, while compact runs, is the file VACUUM INTO writes.
	packed string
	db     *sql.DB
	tx     *sql.Tx
	stmts  builderStmts
	enc    *blobEncoder

	advs    map[string]*advState
	sources []SourceMeta

	// err is the first storage error: the transaction may hold part of a
	// record, so nothing more may be added and Finish refuses.
	err    error
	closed bool

	// beforeRename, when set (by tests), runs just before the rename onto
	// path; an error fails Finish there.
	beforeRename func(tmp string) error
}

type builderStmts struct {
	insAdv, updAdv, insAff, delAff, putEPSS, putKEV *sql.Stmt
}

// advState is what the Builder remembers of each advisory ID, to merge
// later records with the same ID without reading the file back.
type advState struct {
	row       int64     // advisories.id
	modified  time.Time // of the record that supplied the stored fields
	withdrawn bool
	// ecos maps each ecosystem (with release) to the record that supplied
	// its affected rows.
	ecos map[string]ecoState
}

type ecoState struct {
	modified time.Time
	names    []string // normalised names with a row in affected
}

// buildPragmas make the build fast: it is one transaction on a private
// file that is deleted unless the build succeeds, so neither a journal nor
// intermediate syncs buy anything; Finish syncs once at the end.
var buildPragmas = []string{
	"journal_mode(OFF)",
	"synchronous(OFF)",
	"locking_mode(EXCLUSIVE)",
	"temp_store(MEMORY)",
	"cache_size(-131072)", // 128 MiB
}

// NewBuilder starts a database that Finish will put at path. It creates
// path's directory if needed and writes to path+".tmp-*" in it.
func NewBuilder(path string) (*Builder, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("vulndb: create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("vulndb: %w", err)
	}
	b := &Builder{path: path, tmp: f.Name(), advs: make(map[string]*advState)}
	if err := f.Close(); err != nil {
		b.Abort()
		return nil, fmt.Errorf("vulndb: %w", err)
	}
	if err := b.start(); err != nil {
		b.Abort()
		return nil, fmt.Errorf("vulndb: start %s: %w", b.tmp, err)
	}
	return b, nil
}

func (b *Builder) start() error {
	enc, err := newBlobEncoder()
	if err != nil {
		return err
	}
	b.enc = enc
	uri, err := fileURI(b.tmp, uriQuery(nil, buildPragmas...))
	if err != nil {
		return err
	}
	if b.db, err = sql.Open("sqlite", uri); err != nil {
		return err
	}
	// One connection: the pragmas and the transaction are per connection.
	b.db.SetMaxOpenConns(1)
	init := fmt.Sprintf("PRAGMA application_id = %d; PRAGMA user_version = %d;", applicationID, SchemaVersion) + schema
	if _, err := b.db.Exec(init); err != nil {
		return err
	}
	if b.tx, err = b.db.Begin(); err != nil {
		return err
	}
	for _, s := range []struct {
		st  **sql.Stmt
		sql string
	}{
		{&b.stmts.insAdv, `INSERT INTO advisories (advisory_id, source, modified, withdrawn, record) VALUES (?, ?, ?, ?, ?)`},
		{&b.stmts.updAdv, `UPDATE advisories SET source = ?, modified = ?, withdrawn = ?, record = ? WHERE id = ?`},
		{&b.stmts.insAff, `INSERT INTO affected (ecosystem, name, advisory, entries) VALUES (?, ?, ?, ?)`},
		{&b.stmts.delAff, `DELETE FROM affected WHERE ecosystem = ? AND name = ? AND advisory = ?`},
		{&b.stmts.putEPSS, `INSERT INTO epss (cve, score, percentile, date) VALUES (?, ?, ?, ?)
			ON CONFLICT (cve) DO UPDATE SET score = excluded.score, percentile = excluded.percentile, date = excluded.date
			WHERE excluded.date >= epss.date`},
		{&b.stmts.putKEV, `INSERT INTO kev (cve, record) VALUES (?, ?)
			ON CONFLICT (cve) DO UPDATE SET record = excluded.record`},
	} {
		if *s.st, err = b.tx.Prepare(s.sql); err != nil {
			return fmt.Errorf("prepare %q: %w", s.sql, err)
		}
	}
	return nil
}

// usable says whether records may still be added.
func (b *Builder) usable() error {
	if b.closed {
		return ErrClosed
	}
	if b.err != nil {
		return fmt.Errorf("vulndb: build failed earlier: %w", b.err)
	}
	return nil
}

// fail records a storage error: the build cannot be finished any more.
func (b *Builder) fail(err error) error {
	b.err = err
	return fmt.Errorf("vulndb: write %s: %w", b.tmp, err)
}

// group is the Affected entries of one advisory for one key.
type group struct {
	ecosystem, name string
	entries         []advisory.Affected
}

// groupAffected groups entries by key (ecosystem with release, normalised
// name), in order of first appearance. Entries without an ecosystem or a
// package name (an OSV entry naming only a Git repository) can never
// match a package, and are dropped.
func groupAffected(affected []advisory.Affected) []group {
	var groups []group
	idx := make(map[[2]string]int, len(affected))
	for _, e := range affected {
		eco := strings.TrimSpace(e.Ecosystem)
		name := nameKey(eco, e.Package)
		if eco == "" || name == "" {
			continue
		}
		k := [2]string{eco, name}
		i, ok := idx[k]
		if !ok {
			i = len(groups)
			idx[k] = i
			groups = append(groups, group{ecosystem: eco, name: name})
		}
		groups[i].entries = append(groups[i].entries, e)
	}
	return groups
}

// AddAdvisory stores a. A record with the ID of one already added is
// merged with it:
//   - the fields other than Affected come from the record with the newest
//     Modified (on a tie, the one added last);
//   - for each ecosystem (with release), the Affected entries come from the
//     newest record naming that ecosystem; records modified at the same
//     time add up, package by package (for a package both name, the one
//     added last wins).
//
// So a newer revision of an OSV record replaces the older one (packages it
// no longer names stop matching, in the ecosystems it names), and records
// that split one vulnerability by release or by file (Alpine secdb: one
// record per CVE per branch and repository, all undated) add up. Withdrawn
// records are stored with their Withdrawn time: Affected returns them, and
// the matcher ignores them.
func (b *Builder) AddAdvisory(a advisory.Advisory) error {
	if err := b.usable(); err != nil {
		return err
	}
	a.ID = strings.TrimSpace(a.ID)
	if a.ID == "" {
		return errors.New("vulndb: advisory without an ID")
	}
	groups := groupAffected(a.Affected)
	st := b.advs[a.ID]
	if st == nil {
		row, err := b.putRecord(0, a)
		if err != nil {
			return b.fail(err)
		}
		st = &advState{row: row, modified: a.Modified, withdrawn: !a.Withdrawn.IsZero(), ecos: make(map[string]ecoState)}
		b.advs[a.ID] = st
	} else if !a.Modified.Before(st.modified) {
		if _, err := b.putRecord(st.row, a); err != nil {
			return b.fail(err)
		}
		st.modified, st.withdrawn = a.Modified, !a.Withdrawn.IsZero()
	}
	// Replace the rows of each ecosystem a is the newest record for.
	var ecos []string
	byEco := make(map[string][]group, len(groups))
	for _, g := range groups {
		if _, ok := byEco[g.ecosystem]; !ok {
			ecos = append(ecos, g.ecosystem)
		}
		byEco[g.ecosystem] = append(byEco[g.ecosystem], g)
	}
	for _, eco := range ecos {
		if err := b.putEcosystem(st, eco, a.Modified, byEco[eco]); err != nil {
			return b.fail(err)
		}
	}
	return nil
}

// putEcosystem stores the groups of one ecosystem of an advisory, from a
// record modified at modified: it replaces the rows of a record modified
// earlier, adds to those of one modified at the same time, and gives way
// to one modified later.
func (b *Builder) putEcosystem(st *advState, eco string, modified time.Time, groups []group) error {
	old, had := st.ecos[eco]
	if had && modified.Before(old.modified) {
		return nil
	}
	union := had && modified.Equal(old.modified)
	mine := make(map[string]bool, len(groups))
	for _, g := range groups {
		mine[g.name] = true
	}
	names := make([]string, 0, len(old.names)+len(groups))
	for _, name := range old.names {
		if union && !mine[name] {
			names = append(names, name)
			continue
		}
		if _, err := b.stmts.delAff.Exec(eco, name, st.row); err != nil {
			return err
		}
	}
	for _, g := range groups {
		blob, err := b.enc.encode(g.entries)
		if err != nil {
			return err
		}
		if _, err := b.stmts.insAff.Exec(eco, g.name, st.row, blob); err != nil {
			return err
		}
		names = append(names, g.name)
	}
	st.ecos[eco] = ecoState{modified: modified, names: names}
	return nil
}

// putRecord inserts a's record (row 0) or replaces row's.
func (b *Builder) putRecord(row int64, a advisory.Advisory) (int64, error) {
	a.Affected = nil
	blob, err := b.enc.encode(a)
	if err != nil {
		return 0, err
	}
	withdrawn := 0
	if !a.Withdrawn.IsZero() {
		withdrawn = 1
	}
	if row != 0 {
		_, err := b.stmts.updAdv.Exec(a.Source, unixOrZero(a.Modified), withdrawn, blob, row)
		return row, err
	}
	res, err := b.stmts.insAdv.Exec(a.ID, a.Source, unixOrZero(a.Modified), withdrawn, blob)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// AddEPSS stores e. For a CVE added twice, the score with the newer Date
// wins (on a tie, the one added last).
func (b *Builder) AddEPSS(e advisory.EPSS) error {
	if err := b.usable(); err != nil {
		return err
	}
	cve := normalizeCVE(e.CVE)
	if cve == "" {
		return errors.New("vulndb: EPSS score without a CVE")
	}
	if !(e.Score >= 0 && e.Score <= 1) || !(e.Percentile >= 0 && e.Percentile <= 1) {
		return fmt.Errorf("vulndb: EPSS %s: score %v or percentile %v outside [0, 1]", cve, e.Score, e.Percentile)
	}
	if _, err := b.stmts.putEPSS.Exec(cve, e.Score, e.Percentile, unixOrZero(e.Date)); err != nil {
		return b.fail(err)
	}
	return nil
}

// AddKEV stores k; for a CVE added twice, the last one wins.
func (b *Builder) AddKEV(k advisory.KEV) error {
	if err := b.usable(); err != nil {
		return err
	}
	k.CVE = normalizeCVE(k.CVE)
	if k.CVE == "" {
		return errors.New("vulndb: KEV entry without a CVE")
	}
	blob, err := b.enc.encode(k)
	if err != nil {
		return fmt.Errorf("vulndb: KEV %s: %w", k.CVE, err)
	}
	if _, err := b.stmts.putKEV.Exec(k.CVE, blob); err != nil {
		return b.fail(err)
	}
	return nil
}

// AddSource records an input the database is built from, for Meta.
func (b *Builder) AddSource(s SourceMeta) {
	if !s.Fetched.IsZero() {
		s.Fetched = s.Fetched.Round(0).UTC()
	}
	b.sources = append(b.sources, s)
}

// Finish completes the database and moves it onto the path: it writes
// Meta, commits, creates the indexes, runs ANALYZE, compacts the file
// when it has free pages, syncs it and renames it over path (then syncs
// the directory). On error nothing is left behind and path is untouched.
func (b *Builder) Finish(builtAt time.Time) (Meta, error) {
	if err := b.usable(); err != nil {
		b.Abort()
		return Meta{}, err
	}
	meta, err := b.finish(builtAt)
	if err != nil {
		b.Abort()
		return Meta{}, fmt.Errorf("vulndb: finish %s: %w", b.path, err)
	}
	return meta, nil
}

func (b *Builder) finish(builtAt time.Time) (Meta, error) {
	meta := Meta{
		SchemaVersion: SchemaVersion,
		BuiltAt:       builtAt.Round(0).UTC(),
		Sources:       b.sources,
		Advisories:    len(b.advs),
		ByEcosystem:   make(map[string]int),
	}
	for _, st := range b.advs {
		if st.withdrawn {
			meta.Withdrawn++
		}
		seen := make(map[string]bool, len(st.ecos))
		for eco := range st.ecos {
			if base := advisory.EcosystemBase(eco); !seen[base] {
				seen[base] = true
				meta.ByEcosystem[base]++
			}
		}
	}
	var epssDate int64
	if err := b.tx.QueryRow(`SELECT count(*), coalesce(max(date), 0) FROM epss`).Scan(&meta.EPSS, &epssDate); err != nil {
		return Meta{}, err
	}
	if epssDate != 0 {
		meta.EPSSDate = time.Unix(epssDate, 0).UTC()
	}
	if err := b.tx.QueryRow(`SELECT count(*) FROM kev`).Scan(&meta.KEV); err != nil {
		return Meta{}, err
	}
	js, err := json.Marshal(meta)
	if err != nil {
		return Meta{}, err
	}
	if _, err := b.tx.Exec(`INSERT INTO meta (key, value) VALUES (?, ?)`, metaKey, string(js)); err != nil {
		return Meta{}, err
	}
	if err := b.tx.Commit(); err != nil {
		return Meta{}, err
	}
	b.tx = nil
	if _, err := b.db.Exec(indexes); err != nil {
		return Meta{}, fmt.Errorf("create indexes: %w", err)
	}
	if err := b.analyze(); err != nil {
		return Meta{}, fmt.Errorf("analyze: %w", err)
	}
	if err := b.compact(); err != nil {
		return Meta{}, fmt.Errorf("vacuum: %w", err)
	}
	if b.db != nil {
		if err := b.db.Close(); err != nil {
			return Meta{}, err
		}
		b.db = nil
	}
	if err := syncFile(b.tmp); err != nil {
		return Meta{}, err
	}
	if b.beforeRename != nil {
		if err := b.beforeRename(b.tmp); err != nil {
			return Meta{}, err
		}
	}
	if err := os.Rename(b.tmp, b.path); err != nil {
		return Meta{}, err
	}
	b.closed = true
	b.enc.close()
	// The rename is done: a failure to sync the directory only means a
	// crash in the next moments could bring the old file back.
	_ = syncDir(filepath.Dir(b.path))
	return meta, nil
}

// analyze runs ANALYZE, keeping only sqlite_stat1: with STAT4 samples
// (the driver's SQLite is built with SQLITE_ENABLE_STAT4) SQLite
// re-prepares a lookup for each new bound key, which costs more than the
// lookup, and the plans here (primary-key lookups) never change anyway.
func (b *Builder) analyze() error {
	if _, err := b.db.Exec(`ANALYZE`); err != nil {
		return err
	}
	var n int
	if err := b.db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_stat4'`).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		if _, err := b.db.Exec(`DELETE FROM sqlite_stat4`); err != nil {
			return err
		}
	}
	return nil
}

// maxVacuumBytes bounds the files compact rewrites. For today's data
// (30 MB with EPSS) the rewrite takes about 10% of the build and saves
// 5–10% of the file.
const maxVacuumBytes = 1 << 30

// compact rewrites the file packed (VACUUM INTO a new temporary file
// beside it, which then replaces it) when that is cheap: the B-trees
// filled in random key order come out full and in key order, and pages
// freed by merged records are gone. VACUUM INTO writes the copy once and
// needs no temporary database in memory or in $TMPDIR.
func (b *Builder) compact() error {
	var pages, pageSize int64
	if err := b.db.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		return err
	}
	if err := b.db.QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil {
		return err
	}
	if pages*pageSize > maxVacuumBytes {
		return nil
	}
	b.packed = b.tmp + ".packed"
	if _, err := b.db.Exec(`VACUUM INTO ?`, b.packed); err != nil {
		return err
	}
	if err := b.db.Close(); err != nil {
		return err
	}
	b.db = nil
	if err := os.Remove(b.tmp); err != nil {
		return err
	}
	b.tmp, b.packed = b.packed, ""
	return nil
}

// Abort discards the build: the temporary file is removed and path is
// left as it was. It is a no-op after Finish or an earlier Abort.
func (b *Builder) Abort() error {
	if b.closed {
		return nil
	}
	b.closed = true
	var errs []error
	if b.tx != nil {
		// With journaling off a rollback cannot restore anything; it only
		// ends the transaction before the file is deleted.
		_ = b.tx.Rollback()
		b.tx = nil
	}
	if b.db != nil {
		errs = append(errs, b.db.Close())
		b.db = nil
	}
	if b.enc != nil {
		b.enc.close()
	}
	for _, p := range []string{b.tmp, b.tmp + "-journal", b.packed} {
		if p == "" {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("vulndb: abort %s: %w", b.tmp, err)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	// Readable by all: advisory data is public, and a database shared by
	// several users is read by accounts other than its builder's.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// unixOrZero is t in seconds since the epoch, 0 for the zero time.
func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// normalizeCVE is the key of the epss and kev tables.
func normalizeCVE(cve string) string {
	return strings.ToUpper(strings.TrimSpace(cve))
}
