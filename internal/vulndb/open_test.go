package vulndb

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestOpenNotFound(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "missing.sqlite"))
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open of a missing file: %v, want ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), "vigil db update") {
		t.Errorf("error does not say what to do: %v", err)
	}
}

// setUserVersion rewrites a database's schema version, as another
// version of Vigil would have written it.
func setUserVersion(t *testing.T, path string, v int) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("PRAGMA user_version = " + strconv.Itoa(v)); err != nil {
		t.Fatal(err)
	}
}

func TestOpenSchemaMismatch(t *testing.T) {
	for _, tc := range []struct {
		version int
		advice  string
	}{
		{SchemaVersion + 1, "upgrade Vigil"},
		{SchemaVersion + 41, "upgrade Vigil"},
		{0, "rebuild it"},
	} {
		path, _ := buildFixture(t, t.TempDir())
		setUserVersion(t, path, tc.version)
		db, err := Open(path)
		if err == nil {
			db.Close()
			t.Fatalf("version %d: Open succeeded", tc.version)
		}
		if !errors.Is(err, ErrSchema) {
			t.Errorf("version %d: %v does not match ErrSchema", tc.version, err)
		}
		var se *SchemaError
		if !errors.As(err, &se) || se.Got != tc.version || se.Want != SchemaVersion || se.Path != path {
			t.Errorf("version %d: SchemaError = %+v", tc.version, se)
		}
		if !strings.Contains(err.Error(), tc.advice) || !strings.Contains(err.Error(), "vigil db update") {
			t.Errorf("version %d: error %q lacks advice %q", tc.version, err, tc.advice)
		}
	}
}

// TestOpenCorrupt opens files that are not whole Vigil databases: Open, or
// at the latest the first query, fails with an error matching ErrCorrupt,
// and nothing panics.
func TestOpenCorrupt(t *testing.T) {
	good, _ := buildFixture(t, t.TempDir())
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	pageSize := int(data[16])<<8 | int(data[17])
	if pageSize == 1 {
		pageSize = 65536
	}
	if len(data) < 4*pageSize {
		t.Fatalf("fixture database too small to damage: %d bytes", len(data))
	}
	garbage := func(b []byte, from, to int) []byte {
		b = append([]byte(nil), b...)
		for i := from; i < to && i < len(b); i++ {
			b[i] = byte(i*7 + 13)
		}
		return b
	}
	otherApp := filepath.Join(t.TempDir(), "other.sqlite")
	func() {
		db, err := sql.Open("sqlite", otherApp)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(`CREATE TABLE t (x); INSERT INTO t VALUES (1)`); err != nil {
			t.Fatal(err)
		}
	}()
	otherData, err := os.ReadFile(otherApp)
	if err != nil {
		t.Fatal(err)
	}
	// A Vigil header on another application's tables.
	impostor := append([]byte(nil), otherData...)
	copy(impostor[60:64], data[60:64]) // user_version
	copy(impostor[68:72], data[68:72]) // application_id

	for _, tc := range []struct {
		name string
		data []byte
		// mayOpen is set where the damage is past what Open reads: then
		// the queries must find it.
		mayOpen bool
	}{
		{name: "empty", data: nil},
		{name: "text", data: []byte("this is not a database\n")},
		{name: "json", data: []byte(`{"id":"GO-2024-0001"}`)},
		{name: "header only", data: data[:100]},
		{name: "first page", data: data[:pageSize]},
		{name: "half", data: data[:len(data)/2]},
		{name: "one byte short", data: data[:len(data)-1]},
		{name: "other application", data: otherData},
		{name: "impostor", data: impostor},
		{name: "pages after the first", data: garbage(data, pageSize, len(data))},
		{name: "second half", data: garbage(data, len(data)/2, len(data)), mayOpen: true},
		{name: "every other page", data: everyOtherPage(data, pageSize), mayOpen: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vulndb.sqlite")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			db, err := Open(path)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Errorf("Open: %v, want ErrCorrupt", err)
				}
				t.Logf("Open: %v", err)
				return
			}
			defer db.Close()
			if !tc.mayOpen {
				t.Errorf("Open succeeded")
			}
			err = queryAll(db)
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("queries after Open: %v, want ErrCorrupt", err)
			}
			t.Logf("query: %v", err)
		})
	}
}

// everyOtherPage damages the middle of every other page after the first.
func everyOtherPage(data []byte, pageSize int) []byte {
	b := append([]byte(nil), data...)
	for p := 1; p*pageSize < len(b); p += 2 {
		for i := p*pageSize + 8; i < (p+1)*pageSize-8; i++ {
			b[i] ^= 0x5a
		}
	}
	return b
}

// queryAll runs every lookup the fixture answers and returns the first
// error.
func queryAll(db *DB) error {
	ctx := context.Background()
	for _, k := range [][2]string{
		{"Go", "golang.org/x/net"}, {"Go", "golang.org/x/text"}, {"PyPI", "foo-bar-baz"},
		{"Debian:11", "openssl"}, {"Debian:12", "openssl"}, {"Debian:11", "nss"},
		{"Alpine:v3.10", "openssl"}, {"Alpine:v3.11", "openssl"}, {"npm", "left-pad"},
		{"npm", "JSONStream"}, {"NuGet", "newtonsoft.json"}, {"crates.io", "smallvec"},
	} {
		if _, err := db.Affected(ctx, k[0], k[1]); err != nil {
			return err
		}
	}
	for _, cve := range []string{"CVE-2023-0001", "CVE-2024-0001"} {
		if _, _, err := db.EPSS(ctx, cve); err != nil {
			return err
		}
		if _, _, err := db.KEV(ctx, cve); err != nil {
			return err
		}
	}
	return nil
}

func TestOpenDirectory(t *testing.T) {
	if _, err := Open(t.TempDir()); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Open of a directory: %v", err)
	}
}

// TestOpenReadOnly checks that reading a database changes nothing on
// disk: not the file, not its time, no journal or WAL beside it.
func TestOpenReadOnly(t *testing.T) {
	path, _ := buildFixture(t, t.TempDir())
	before := stateOf(t, path)
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := queryAll(db); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if after := stateOf(t, path); after.sum != before.sum || !after.modTime.Equal(before.modTime) || strings.Join(after.names, ",") != strings.Join(before.names, ",") {
		t.Errorf("reading changed the database: before %+v, after %+v", before, after)
	}

	// A file nobody may write to opens too (root ignores modes, so this
	// only proves something for other users).
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	db = openT(t, path)
	if err := queryAll(db); err != nil {
		t.Fatal(err)
	}
}

func TestUseAfterClose(t *testing.T) {
	path, _ := buildFixture(t, t.TempDir())
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ctx := context.Background()
	if _, err := db.Affected(ctx, "Debian:11", "openssl"); err == nil {
		t.Error("Affected after Close succeeded")
	}
	if _, _, err := db.EPSS(ctx, "CVE-2023-0001"); err == nil {
		t.Error("EPSS after Close succeeded")
	}
	if _, _, err := db.KEV(ctx, "CVE-2023-0001"); err == nil {
		t.Error("KEV after Close succeeded")
	}
	if m := db.Meta(); m.Advisories != 11 {
		t.Errorf("Meta after Close: %+v", m)
	}
}
