package vulndb

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/advisory"
)

// TestFailedBuildKeepsDatabase checks every way a build can end without
// Finish succeeding: the database already at the path stays as it was,
// still opens and answers, and no temporary file is left behind.
func TestFailedBuildKeepsDatabase(t *testing.T) {
	newRecord := advisory.Advisory{
		ID: "GO-2099-0001", Source: "osv", Modified: t2,
		Affected: []advisory.Affected{{Ecosystem: "Go", Package: "golang.org/x/net", Ranges: introFixed(advisory.SemVer, "0", "9.9.9")}},
	}
	for _, tc := range []struct {
		name string
		// fail ends the build some way other than a successful Finish.
		fail func(t *testing.T, b *Builder)
	}{
		{"abort", func(t *testing.T, b *Builder) {
			if err := b.Abort(); err != nil {
				t.Fatal(err)
			}
		}},
		{"abort twice", func(t *testing.T, b *Builder) {
			b.Abort()
			if err := b.Abort(); err != nil {
				t.Fatal(err)
			}
		}},
		{"finish fails before the rename", func(t *testing.T, b *Builder) {
			b.beforeRename = func(string) error { return errors.New("disk full") }
			if _, err := b.Finish(t2); err == nil || !strings.Contains(err.Error(), "disk full") {
				t.Fatalf("Finish: %v", err)
			}
			if err := b.Abort(); err != nil {
				t.Fatalf("Abort after a failed Finish: %v", err)
			}
		}},
		{"temporary file removed under the builder", func(t *testing.T, b *Builder) {
			b.beforeRename = func(tmp string) error { return os.Remove(tmp) }
			if _, err := b.Finish(t2); err == nil {
				t.Fatal("Finish succeeded without its file")
			}
		}},
		{"storage error poisons the build", func(t *testing.T, b *Builder) {
			b.fail(errors.New("injected"))
			if err := b.AddAdvisory(newRecord); err == nil {
				t.Fatal("AddAdvisory after a storage error succeeded")
			}
			if _, err := b.Finish(t2); err == nil {
				t.Fatal("Finish after a storage error succeeded")
			}
		}},
		{"process gives up (no Abort)", func(t *testing.T, b *Builder) {
			// Nothing: the caller dropped the builder. The path must still
			// be intact; the temporary file is the caller's leak, removed
			// here so the directory check below tests only the path.
			t.Cleanup(func() { b.Abort() })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path, _ := buildFixture(t, dir)
			before := stateOf(t, path)

			b, err := NewBuilder(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.AddAdvisory(newRecord); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(filepath.Base(b.tmp), "vulndb.sqlite.tmp-") || filepath.Dir(b.tmp) != dir {
				t.Errorf("temporary file %s, want vulndb.sqlite.tmp-* in %s", b.tmp, dir)
			}
			tc.fail(t, b)

			after := stateOf(t, path)
			if after.sum != before.sum || !after.modTime.Equal(before.modTime) {
				t.Errorf("the database at the path changed")
			}
			db := openT(t, path)
			got, err := db.Affected(context.Background(), "Go", "golang.org/x/net")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].ID != "GO-2024-0001" {
				t.Errorf("after the failed build: %v, want the old answer [GO-2024-0001]", ids(got))
			}
			if tc.name != "process gives up (no Abort)" && strings.Join(after.names, ",") != "vulndb.sqlite" {
				t.Errorf("directory holds %v, want only vulndb.sqlite", after.names)
			}
		})
	}
}

func TestBuildReplacesDatabase(t *testing.T) {
	dir := t.TempDir()
	path, _ := buildFixture(t, dir)
	old := openT(t, path) // an open reader keeps its file across the rebuild

	b, err := NewBuilder(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Abort()
	if err := b.AddAdvisory(advisory.Advisory{
		ID: "GO-2099-0001", Modified: t2,
		Affected: []advisory.Affected{{Ecosystem: "Go", Package: "example.com/new"}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Finish(t2); err != nil {
		t.Fatal(err)
	}
	if err := b.Abort(); err != nil {
		t.Errorf("Abort after Finish: %v", err)
	}
	if err := b.AddAdvisory(advisory.Advisory{ID: "X"}); !errors.Is(err, ErrClosed) {
		t.Errorf("AddAdvisory after Finish: %v, want ErrClosed", err)
	}
	if _, err := b.Finish(t2); !errors.Is(err, ErrClosed) {
		t.Errorf("second Finish: %v, want ErrClosed", err)
	}

	ctx := context.Background()
	db := openT(t, path)
	if got, err := db.Affected(ctx, "Go", "example.com/new"); err != nil || len(got) != 1 {
		t.Errorf("new database: %v, %v", ids(got), err)
	}
	if got, err := db.Affected(ctx, "Go", "golang.org/x/net"); err != nil || len(got) != 0 {
		t.Errorf("new database still has old data: %v, %v", ids(got), err)
	}
	if got, err := old.Affected(ctx, "Go", "golang.org/x/net"); err != nil || len(got) != 1 {
		t.Errorf("reader opened before the rebuild: %v, %v", ids(got), err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	if st := stateOf(t, path); len(st.names) != 1 {
		t.Errorf("directory holds %v", st.names)
	}
}

func TestNewBuilderCreatesDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "vulndb.sqlite")
	b, err := NewBuilder(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Finish(t2); err != nil {
		t.Fatal(err)
	}
	db := openT(t, path)
	if m := db.Meta(); m.Advisories != 0 || m.SchemaVersion != SchemaVersion || !m.BuiltAt.Equal(t2) {
		t.Errorf("empty database Meta: %+v", m)
	}
}

func TestBuilderRejects(t *testing.T) {
	b, err := NewBuilder(filepath.Join(t.TempDir(), "vulndb.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Abort()
	for name, err := range map[string]error{
		"advisory without ID": b.AddAdvisory(advisory.Advisory{ID: "  ", Affected: []advisory.Affected{{Ecosystem: "Go", Package: "x"}}}),
		"EPSS without CVE":    b.AddEPSS(advisory.EPSS{Score: 0.5}),
		"EPSS score above 1":  b.AddEPSS(advisory.EPSS{CVE: "CVE-2024-1", Score: 1.5}),
		"EPSS negative":       b.AddEPSS(advisory.EPSS{CVE: "CVE-2024-1", Percentile: -0.1}),
		"EPSS NaN":            b.AddEPSS(advisory.EPSS{CVE: "CVE-2024-1", Score: math.NaN()}),
		"KEV without CVE":     b.AddKEV(advisory.KEV{Name: "x"}),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Rejected input is not a storage error: the build goes on.
	if err := b.AddAdvisory(advisory.Advisory{ID: "GO-1"}); err != nil {
		t.Errorf("after rejected input: %v", err)
	}
	if _, err := b.Finish(time.Now()); err != nil {
		t.Errorf("Finish after rejected input: %v", err)
	}
}

// TestBuiltFile checks the finished file as SQLite sees it: whole, packed,
// indexed, with stat1 but no stat4 statistics, and Vigil's header fields.
func TestBuiltFile(t *testing.T) {
	path, _ := buildFixture(t, t.TempDir())
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct {
		query string
		want  string
	}{
		{`PRAGMA integrity_check`, "ok"},
		{`PRAGMA application_id`, strconv.Itoa(applicationID)},
		{`PRAGMA user_version`, strconv.Itoa(SchemaVersion)},
		{`PRAGMA freelist_count`, "0"},
		{`PRAGMA journal_mode`, "delete"},
		{`SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = 'advisories_advisory_id'`, "1"},
		{`SELECT count(*) > 0 FROM sqlite_stat1`, "1"},
		{`SELECT count(*) FROM sqlite_stat4`, "0"},
		{`SELECT count(*) FROM advisories`, "11"},
		{`SELECT count(*) FROM advisories WHERE withdrawn = 1`, "1"},
		{`SELECT group_concat(name) FROM (SELECT name FROM affected WHERE ecosystem = 'PyPI')`, "foo-bar-baz"},
		{`SELECT json_extract(record, '$.id') FROM advisories WHERE advisory_id = 'PYSEC-2024-1'`, "PYSEC-2024-1"},
	} {
		var got string
		if err := db.QueryRow(tc.query).Scan(&got); err != nil {
			t.Errorf("%s: %v", tc.query, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s = %q, want %q", tc.query, got, tc.want)
		}
	}
}
