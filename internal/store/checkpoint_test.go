package store

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestCheckpointer: commits on the write connection never checkpoint, the
// checkpointer does, so the WAL stays bounded under steady writes; and
// Close leaves no WAL behind.
func TestCheckpointer(t *testing.T) {
	path := t.TempDir() + "/vigil.db"
	db, err := Open(context.Background(), path)
	must(t, err)
	var auto int
	must(t, db.w.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto))
	if auto != 0 {
		t.Errorf("write connection checkpoints every %d pages, want never", auto)
	}
	data := []byte(`{"cmd":"` + strings.Repeat("x", 2000) + `"}`)
	write := func() { // ~4 MiB in 20 commits
		for range 20 {
			evs := make([]Event, 100)
			for i := range evs {
				evs[i] = Event{Kind: "exec", Data: data}
			}
			must(t, db.AddEvents(ctx, evs))
		}
	}
	walSize := func() int64 {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	var most int64
	for range 5 {
		write()
		most = max(most, walSize())
		time.Sleep(checkpointEvery + 300*time.Millisecond)
	}
	// Five rounds without checkpoints would make a WAL of 20+ MiB; with
	// them each round's WAL starts over.
	if most > 12<<20 {
		t.Errorf("WAL grew to %d bytes over five rounds of ~4 MiB: not checkpointed", most)
	}
	must(t, db.Close())
	if n := walSize(); n != 0 {
		t.Errorf("WAL of %d bytes left after Close", n)
	}
	if _, err := os.Stat(path + "-wal"); err == nil {
		t.Error("WAL file left after Close")
	}
	db, err = Open(context.Background(), path)
	must(t, err)
	defer db.Close()
	p, err := db.ListEvents(ctx, ListOptions{Limit: 1})
	must(t, err)
	if len(p.Items) != 1 {
		t.Error("events lost across Close and Open")
	}
}
