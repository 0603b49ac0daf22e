package vulndb

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// schema creates the tables of SchemaVersion 1 (docs/formats/vulndb.md).
// Indexes other than the tables' own keys are created by Finish, after
// the inserts.
const schema = `
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE advisories (
	id          INTEGER PRIMARY KEY,
	advisory_id TEXT NOT NULL,
	source      TEXT NOT NULL,
	modified    INTEGER NOT NULL,
	withdrawn   INTEGER NOT NULL,
	record      BLOB NOT NULL
);
CREATE TABLE affected (
	ecosystem TEXT NOT NULL,
	name      TEXT NOT NULL,
	advisory  INTEGER NOT NULL REFERENCES advisories (id),
	entries   BLOB NOT NULL,
	PRIMARY KEY (ecosystem, name, advisory)
) WITHOUT ROWID;
CREATE TABLE epss (
	cve        TEXT PRIMARY KEY,
	score      REAL NOT NULL,
	percentile REAL NOT NULL,
	date       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE kev (
	cve    TEXT PRIMARY KEY,
	record BLOB NOT NULL
) WITHOUT ROWID;
`

// indexes are created by Finish once every row is in.
const indexes = `
CREATE UNIQUE INDEX advisories_advisory_id ON advisories (advisory_id);
`

// metaKey is the meta row holding the JSON of Meta.
const metaKey = "meta"

// fileURI is the SQLite URI of path with query q ("mode=ro&...").
func fileURI(path string, q string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: q}
	return u.String(), nil
}

// sqliteMagic starts every SQLite 3 database file.
const sqliteMagic = "SQLite format 3\x00"

// header is what Open checks of a database file before SQLite reads it.
type header struct {
	applicationID uint32
	userVersion   uint32
}

// readHeader checks that f is a whole SQLite database file (not another
// kind of file, not cut short) and returns the fields of its 100-byte
// header that Vigil uses. Layout: https://sqlite.org/fileformat.html.
func readHeader(f *os.File) (header, error) {
	fi, err := f.Stat()
	if err != nil {
		return header{}, err
	}
	if !fi.Mode().IsRegular() {
		return header{}, corruptf("%s is not a regular file", f.Name())
	}
	var h [100]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return header{}, corruptf("%s: %d bytes, too short for a SQLite database", f.Name(), fi.Size())
	}
	if !bytes.Equal(h[:16], []byte(sqliteMagic)) {
		return header{}, corruptf("%s is not a SQLite database", f.Name())
	}
	pageSize := int64(binary.BigEndian.Uint16(h[16:]))
	if pageSize == 1 {
		pageSize = 65536
	}
	if pageSize < 512 || pageSize&(pageSize-1) != 0 {
		return header{}, corruptf("%s: invalid page size %d", f.Name(), pageSize)
	}
	// The page count in the header is valid when the change counter
	// equals "version-valid-for", as it always does for files written by
	// SQLite 3.7.0 and later.
	pages := int64(binary.BigEndian.Uint32(h[28:]))
	if binary.BigEndian.Uint32(h[24:]) == binary.BigEndian.Uint32(h[92:]) && pages > 0 {
		if want := pages * pageSize; fi.Size() < want {
			return header{}, corruptf("%s is truncated: %d bytes, the header says %d", f.Name(), fi.Size(), want)
		}
	}
	if fi.Size()%pageSize != 0 {
		return header{}, corruptf("%s is truncated: %d bytes is not a whole number of %d-byte pages", f.Name(), fi.Size(), pageSize)
	}
	return header{
		userVersion:   binary.BigEndian.Uint32(h[60:]),
		applicationID: binary.BigEndian.Uint32(h[68:]),
	}, nil
}

// checkHeader says whether h is the header of a database this package
// reads.
func checkHeader(path string, h header) error {
	if h.applicationID != applicationID {
		return corruptf("%s is a SQLite database of another application (application_id %#x)", path, h.applicationID)
	}
	if int(h.userVersion) != SchemaVersion {
		return &SchemaError{Path: path, Got: int(h.userVersion), Want: SchemaVersion}
	}
	return nil
}

// uriQuery is the query part of a database URI: SQLite's own URI
// parameters (params: "mode", "ro", ...) and pragmas the sqlite driver
// runs on every new connection.
func uriQuery(params []string, pragmas ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		v.Set(params[i], params[i+1])
	}
	for _, p := range pragmas {
		v.Add("_pragma", p)
	}
	return v.Encode()
}
