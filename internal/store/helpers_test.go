package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/fixture"
)

// The test suite runs every test against both dialects: an SQLite file in
// a temporary directory, and a fresh database on a PostgreSQL server
// (VIGIL_TEST_POSTGRES, or the private cluster scripts/postgres.sh
// starts, once per test binary).

var dialects = []string{dialectSQLite, dialectPostgres}

// forEachDialect runs fn as a subtest per dialect with a fresh store.
func forEachDialect(t *testing.T, fn func(t *testing.T, db *DB)) {
	t.Helper()
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			fn(t, openTest(t, d))
		})
	}
}

// openTest opens a fresh, empty store of the dialect, closed (and, on
// PostgreSQL, dropped) when t ends.
func openTest(tb testing.TB, dialect string) *DB {
	tb.Helper()
	url := testURL(tb, dialect)
	db, err := Open(context.Background(), url)
	if err != nil {
		tb.Fatalf("Open(%s): %v", url, err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// testURL makes a new empty database of the dialect, removed when tb
// ends, and returns its URL.
func testURL(tb testing.TB, dialect string) string {
	tb.Helper()
	url, drop := newDatabase(tb, dialect)
	tb.Cleanup(func() {
		if err := drop(); err != nil {
			tb.Error(err)
		}
	})
	return url
}

// newDatabase makes a new empty database of the dialect and returns its
// URL and a function removing it.
func newDatabase(tb testing.TB, dialect string) (string, func() error) {
	tb.Helper()
	if dialect == dialectSQLite {
		dir, err := os.MkdirTemp("", "vigil-store-test-")
		if err != nil {
			tb.Fatal(err)
		}
		return filepath.Join(dir, "vigil.db"), func() error { return os.RemoveAll(dir) }
	}
	admin, base := postgresServer(tb)
	name := "vigil_test_" + randHex(6)
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	u := *base
	u.Path = "/" + name
	return u.String(), func() error {
		if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			return fmt.Errorf("drop database %s: %v", name, err)
		}
		return nil
	}
}

// cleanups run when the test binary ends (stores shared by benchmarks).
var cleanups struct {
	sync.Mutex
	fns []func() error
}

func atExit(fn func() error) {
	cleanups.Lock()
	defer cleanups.Unlock()
	cleanups.fns = append(cleanups.fns, fn)
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, fn := range cleanups.fns {
		if err := fn(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	os.Exit(code)
}

var pg struct {
	once  sync.Once
	admin *sql.DB
	url   *url.URL
	err   error
}

// postgresServer returns a connection to the test server's maintenance
// database and the server's URL, or skips (fails under
// VIGIL_REQUIRE_FIXTURES) when there is no server.
func postgresServer(tb testing.TB) (*sql.DB, *url.URL) {
	tb.Helper()
	pg.once.Do(func() {
		raw := os.Getenv("VIGIL_TEST_POSTGRES")
		if raw == "" {
			var stdout, stderr bytes.Buffer
			cmd := exec.Command("bash", filepath.Join("..", "..", "scripts", "postgres.sh"))
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				pg.err = fmt.Errorf("scripts/postgres.sh: %v\n%s", err, stderr.String())
				return
			}
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			raw = lines[len(lines)-1]
		}
		u, err := url.Parse(raw)
		if err != nil {
			pg.err = fmt.Errorf("postgres URL %q: %v", raw, err)
			return
		}
		pg.url = u
		db, err := sql.Open("pgx", raw)
		if err != nil {
			pg.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			pg.err = fmt.Errorf("postgres at %s: %v", u.Redacted(), err)
			return
		}
		pg.admin = db
	})
	if pg.err != nil {
		fixture.Unavailable(tb, "PostgreSQL: "+pg.err.Error())
	}
	return pg.admin, pg.url
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ctx is the context of test calls.
var ctx = context.Background()

// must fails the test on err.
func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// wantErr checks err matches target.
func wantErr(tb testing.TB, what string, err, target error) {
	tb.Helper()
	if !errors.Is(err, target) {
		tb.Errorf("%s: error %v, want %v", what, err, target)
	}
}

// t0 is a fixed time all tests count from.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// at is t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// ingest runs fn as the agent's next message.
func ingest(tb testing.TB, db *DB, agentID string, fn func(in Ingester) error) {
	tb.Helper()
	a, err := db.Agent(ctx, agentID)
	must(tb, err)
	dup, err := db.Ingest(ctx, agentID, a.LastSeq+1, fn)
	must(tb, err)
	if dup {
		tb.Fatalf("ingest: message %d of %s taken for a duplicate", a.LastSeq+1, agentID)
	}
}

// newAgent creates an agent with an ID.
func newAgent(tb testing.TB, db *DB, id string) Agent {
	tb.Helper()
	a, err := db.CreateAgent(ctx, Agent{ID: id, Hostname: id + ".example", Version: "1.0.0", EnrolledAt: t0,
		Heartbeat: time.Minute, CertSerial: "serial-" + id, CertNotAfter: at(24 * time.Hour)})
	must(tb, err)
	return a
}

// newAsset creates (through ingest) a host asset for the agent.
func newAsset(tb testing.TB, db *DB, agentID string, a Asset) {
	tb.Helper()
	if a.AgentID == "" {
		a.AgentID = agentID
	}
	ingest(tb, db, agentID, func(in Ingester) error { return in.UpsertAsset(ctx, a) })
}

// pageAll reads every page of a list with page size limit.
func pageAll[T any](tb testing.TB, limit int, o ListOptions, fn func(ListOptions) (Page[T], error)) []T {
	tb.Helper()
	var all []T
	o.Limit = limit
	for i := 0; ; i++ {
		p, err := fn(o)
		if err != nil {
			tb.Fatalf("page %d: %v", i, err)
		}
		if len(p.Items) > limit {
			tb.Fatalf("page %d has %d items, limit %d", i, len(p.Items), limit)
		}
		all = append(all, p.Items...)
		if p.Next == "" {
			return all
		}
		if len(p.Items) == 0 {
			tb.Fatalf("page %d is empty but has a next cursor", i)
		}
		if i > 10000 {
			tb.Fatal("paging does not end")
		}
		o.Cursor = p.Next
	}
}
