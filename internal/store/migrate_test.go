package store

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestMigrationsReopen(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			url := testURL(t, d)
			db, err := Open(ctx, url)
			must(t, err)
			u, err := db.CreateUser(ctx, User{Name: "alice", Role: RoleAdmin})
			must(t, err)
			must(t, db.Close())

			// Reopening applies nothing and keeps the data.
			db, err = Open(ctx, url)
			must(t, err)
			defer db.Close()
			got, err := db.UserByName(ctx, "alice")
			must(t, err)
			if got.ID != u.ID {
				t.Errorf("after reopen: user %+v, want id %d", got, u.ID)
			}
			ms, err := loadMigrations(d)
			must(t, err)
			var n, max int
			must(t, db.reader().row(ctx, []any{&n, &max}, `SELECT COUNT(*), MAX(version) FROM schema_migrations`))
			if n != len(ms) || max != len(ms) {
				t.Errorf("schema_migrations: %d rows up to %d, want %d", n, max, len(ms))
			}
			if db.Dialect() != d {
				t.Errorf("Dialect() = %q, want %q", db.Dialect(), d)
			}

			// A database from a newer server is refused.
			_, err = db.writer().exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				len(ms)+1, "future", db.tv(t0))
			must(t, err)
			db.Close()
			if _, err := Open(ctx, url); err == nil || !strings.Contains(err.Error(), "newer") {
				t.Errorf("Open of a newer schema: %v, want an error saying so", err)
			}
		})
	}
}

func TestMigrationsMatch(t *testing.T) {
	a, err := loadMigrations(dialectSQLite)
	must(t, err)
	b, err := loadMigrations(dialectPostgres)
	must(t, err)
	if len(a) != len(b) {
		t.Fatalf("sqlite has %d migrations, postgres %d", len(a), len(b))
	}
	for i := range a {
		if a[i].name != b[i].name {
			t.Errorf("migration %d: sqlite %q, postgres %q", i+1, a[i].name, b[i].name)
		}
	}
}

func TestOpenSQLiteURLs(t *testing.T) {
	dir := t.TempDir()
	for _, url := range []string{
		filepath.Join(dir, "a.db"),
		"sqlite://" + filepath.Join(dir, "b.db"),
		"sqlite://" + filepath.Join(dir, "sub", "c.db") + "?synchronous=full",
	} {
		db, err := Open(ctx, url)
		if err != nil {
			t.Errorf("Open(%q): %v", url, err)
			continue
		}
		db.Close()
	}
	for _, url := range []string{"sqlite://" + filepath.Join(dir, "d.db") + "?synchronous=off", ":memory:", "sqlite://"} {
		if db, err := Open(ctx, url); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded, want an error", url)
		} else {
			wantErr(t, url, err, ErrInvalid)
		}
	}
}
