package store

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestCheckpointer: the writer's commits checkpoint only past the
// backstop, the checkpointer copies the rest, and the WAL stays bounded
// both under writes with pauses and under a writer that never pauses
// (where checkpoints on another connection alone never let the WAL start
// over); Close leaves an empty WAL at most and loses nothing.
func TestCheckpointer(t *testing.T) {
	path := t.TempDir() + "/vigil.db"
	db, err := Open(context.Background(), path)
	must(t, err)
	var auto int
	must(t, db.w.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto))
	if auto != walBackstopPages {
		t.Errorf("write connection checkpoints every %d pages, want %d", auto, walBackstopPages)
	}
	data := []byte(`{"cmd":"` + strings.Repeat("x", 2000) + `"}`)
	write := func() { // ~200 KiB in one commit
		evs := make([]Event, 100)
		for i := range evs {
			evs[i] = Event{Kind: "exec", Data: data}
		}
		must(t, db.AddEvents(ctx, evs))
	}
	walSize := func() int64 {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	// The WAL file keeps its largest extent until SQLite truncates it to
	// walSizeLimit when starting over; bound it by the backstop plus what
	// a few commits add while a checkpoint runs.
	bound := int64(walBackstopPages*4096 + 16<<20)

	var most int64
	for range 4 { // pauses: the checkpointer alone keeps up
		for range 20 {
			write()
		}
		most = max(most, walSize())
		time.Sleep(checkpointEvery + 100*time.Millisecond)
	}
	// No pauses: 500 commits, ~100 MiB, well past the bound.
	for i := range 500 {
		write()
		if i%10 == 0 {
			most = max(most, walSize())
		}
	}
	most = max(most, walSize())
	time.Sleep(checkpointEvery + 100*time.Millisecond)
	if st, ok := db.WAL(); !ok || st.Pages <= 0 || st.Left < 0 || st.Left > st.Pages || st.Failures != 0 {
		t.Errorf("WAL() = %+v, %v after writes; want pages seen, none failed", st, ok)
	}
	if most > bound {
		t.Errorf("WAL grew to %d bytes, over %d: not checkpointed", most, bound)
	}
	must(t, db.Close())
	if n := walSize(); n != 0 {
		t.Errorf("WAL of %d bytes left after Close", n)
	}
	db, err = Open(context.Background(), path)
	must(t, err)
	defer db.Close()
	var n int
	must(t, db.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM events").Scan(&n))
	if n != (4*20+500)*100 {
		t.Errorf("%d events after Close and Open, want %d", n, (4*20+500)*100)
	}
}

// TestWALReport: an SQLite store reports its WAL, a PostgreSQL one says it
// has none to report.
func TestWALReport(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		st, ok := db.WAL()
		if ok != (db.dialect == dialectSQLite) {
			t.Fatalf("%s: WAL() ok = %v", db.dialect, ok)
		}
		if st.Failures != 0 {
			t.Errorf("%s: %d failed checkpoints on a fresh store", db.dialect, st.Failures)
		}
	})
}
