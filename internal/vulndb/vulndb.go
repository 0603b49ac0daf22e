package vulndb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// SchemaVersion is the version of the file format this package writes and
// reads (docs/formats/vulndb.md). It changes whenever a table, a column, a
// blob's content or the way keys are derived (name normalisation) changes;
// Open refuses any other version with a *SchemaError.
const SchemaVersion = 1

// applicationID marks a SQLite file as a Vigil vulnerability database
// ("VGDB"), in the header's application_id field.
const applicationID = 0x56474442

// Meta describes a database: when it was built, from what, and what it
// holds.
type Meta struct {
	SchemaVersion int          `json:"schemaVersion"`
	BuiltAt       time.Time    `json:"builtAt"`
	Sources       []SourceMeta `json:"sources,omitempty"`
	// Advisories counts the advisories stored, withdrawn ones included.
	Advisories int `json:"advisories"`
	// Withdrawn counts the stored advisories that were withdrawn.
	Withdrawn int `json:"withdrawn,omitempty"`
	// ByEcosystem counts advisories per base ecosystem ("Debian" for
	// "Debian:11"); an advisory naming several ecosystems counts in each.
	ByEcosystem map[string]int `json:"byEcosystem,omitempty"`
	// EPSS counts CVEs with an EPSS score; EPSSDate is the newest score
	// date among them.
	EPSS     int       `json:"epss"`
	EPSSDate time.Time `json:"epssDate,omitzero"`
	// KEV counts entries of the Known Exploited Vulnerabilities catalogue.
	KEV int `json:"kev"`
}

// SourceMeta describes one input the database was built from.
type SourceMeta struct {
	// Name identifies the input (the feed cache's file name, "osv-Go").
	Name string `json:"name"`
	// Kind is its format: "osv", "debian", "alpine", "epss" or "kev".
	Kind string `json:"kind"`
	// Records is how many records were read from it.
	Records int `json:"records"`
	// Digest is the SHA-256 of the input file, hex.
	Digest string `json:"digest,omitempty"`
	// Fetched is when the input was downloaded.
	Fetched time.Time `json:"fetched,omitzero"`
}

var (
	// ErrNotFound means there is no database file at the path: build one
	// (`vigil db update`).
	ErrNotFound = errors.New("vulnerability database not found")
	// ErrCorrupt means the file is not a readable Vigil vulnerability
	// database: not SQLite, another application's SQLite file, truncated
	// or damaged. Rebuilding it (`vigil db update`) replaces it.
	ErrCorrupt = errors.New("not a valid vulnerability database")
	// ErrSchema is matched (errors.Is) by every *SchemaError.
	ErrSchema = errors.New("vulnerability database has an unsupported schema version")
	// ErrClosed is returned by a Builder used after Finish or Abort.
	ErrClosed = errors.New("vulndb builder already finished or aborted")
)

// SchemaError is returned by Open for a database written with another
// SchemaVersion. It matches ErrSchema.
type SchemaError struct {
	Path string
	// Got is the file's version, Want this package's SchemaVersion.
	Got, Want int
}

func (e *SchemaError) Error() string {
	if e.Got > e.Want {
		return fmt.Sprintf("vulnerability database %s has schema version %d, newer than this Vigil reads (%d): upgrade Vigil, or rebuild the database with this version ('vigil db update')", e.Path, e.Got, e.Want)
	}
	return fmt.Sprintf("vulnerability database %s has schema version %d, older than this Vigil reads (%d): rebuild it ('vigil db update')", e.Path, e.Got, e.Want)
}

// Is makes errors.Is(err, ErrSchema) true.
func (e *SchemaError) Is(target error) bool { return target == ErrSchema }

// rebuildAdvice ends the errors that a rebuild cures.
const rebuildAdvice = " (rebuild it with 'vigil db update')"

// corruptf formats an error that wraps ErrCorrupt and any %w in format.
func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format+rebuildAdvice, append([]any{ErrCorrupt}, args...)...)
}

// DefaultPath is where the database lives when nothing else says: $VIGIL_DB,
// else $XDG_CACHE_HOME/vigil/db/vulndb.sqlite, else
// ~/.cache/vigil/db/vulndb.sqlite.
func DefaultPath() string {
	if p := os.Getenv("VIGIL_DB"); p != "" {
		return p
	}
	const rel = "vigil/db/vulndb.sqlite"
	// The XDG spec says a relative value is invalid and must be ignored.
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, filepath.FromSlash(rel))
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".cache", filepath.FromSlash(rel))
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, filepath.FromSlash(rel))
	}
	return filepath.Join(os.TempDir(), filepath.FromSlash(rel))
}
