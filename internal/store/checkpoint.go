package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// WAL checkpoints of an SQLite store run mostly on a connection of their
// own, off the commit path. SQLite's default (wal_autocheckpoint=1000)
// makes the commit that crosses 1,000 WAL pages copy them into the
// database file before it returns — 9% of server CPU during a fleet's
// ingest, all of it on the one writer every agent message waits for
// (bench/cmd/agentsim/notes.md). Here a checkpointer runs a PASSIVE
// checkpoint every checkpointEvery: it copies what no reader still needs
// while the writer goes on, never blocking writers or readers.
//
// The writer keeps a backstop (wal_autocheckpoint=walBackstopPages): under
// a writer that never pauses, a PASSIVE checkpoint on another connection
// never catches up with the end of the WAL, and SQLite starts the WAL over
// only once a checkpoint did — without the backstop the WAL grew to 27 GB
// in the first minutes of a 10,000-agent run. With it, the commit that
// finds the WAL over the backstop copies only what the checkpointer has
// not copied yet, and the WAL starts over. Durability is unchanged: a
// commit is in the WAL when it returns either way.

// checkpointEvery is how often the checkpointer runs.
const checkpointEvery = 250 * time.Millisecond

// walBackstopPages is the WAL size in pages at which the writer's own
// commit checkpoints (32 MiB of 4 KiB pages).
const walBackstopPages = 8192

// walSizeLimit is the size a WAL file is truncated to when SQLite starts
// it over (journal_size_limit).
const walSizeLimit = 64 << 20

// checkpointer runs PASSIVE checkpoints on its own connection until stop.
type checkpointer struct {
	db   *sql.DB
	stop context.CancelFunc
	done chan struct{}
	// walPages is the WAL's size in pages at the last checkpoint, left
	// the number of pages not yet copied by then, failures the count of
	// checkpoints that failed (DB.WAL).
	walPages, left atomic.Int64
	failures       atomic.Uint64
}

func startCheckpointer(uri string) (*checkpointer, error) {
	cdb, err := sql.Open("sqlite", uri)
	if err != nil {
		return nil, err
	}
	cdb.SetMaxOpenConns(1)
	cdb.SetMaxIdleConns(1)
	cdb.SetConnMaxLifetime(0)
	cdb.SetConnMaxIdleTime(0)
	ctx, cancel := context.WithCancel(context.Background())
	cp := &checkpointer{db: cdb, stop: cancel, done: make(chan struct{})}
	go cp.run(ctx)
	return cp, nil
}

func (cp *checkpointer) run(ctx context.Context) {
	defer close(cp.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// A failed checkpoint (a busy file, a full disk) leaves the WAL
		// to the next one or to the writer's backstop; nothing is lost,
		// and DB.WAL counts it.
		if err := cp.checkpoint(ctx, "PASSIVE"); err != nil && ctx.Err() == nil {
			cp.failures.Add(1)
		}
	}
}

// checkpoint runs one checkpoint of mode (PASSIVE, or TRUNCATE at close).
func (cp *checkpointer) checkpoint(ctx context.Context, mode string) error {
	var busy, log, copied int
	if err := cp.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &log, &copied); err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	if log >= 0 { // -1: not in WAL mode
		cp.walPages.Store(int64(log))
		cp.left.Store(int64(log - copied))
	}
	return nil
}

// WALStats is what an SQLite store's checkpointer last saw.
type WALStats struct {
	Pages    int64  // WAL size in pages at the last checkpoint
	Left     int64  // of those, pages not yet copied into the database file
	Failures uint64 // checkpoints that failed (a busy file, a full disk)
}

// WAL reports the WAL of an SQLite store; ok is false for PostgreSQL. A
// WAL that keeps growing, or failures that keep counting, mean
// checkpoints do not keep up (a reader that never ends, a full disk).
func (db *DB) WAL() (st WALStats, ok bool) {
	if db.cp == nil {
		return st, false
	}
	return WALStats{Pages: db.cp.walPages.Load(), Left: db.cp.left.Load(), Failures: db.cp.failures.Load()}, true
}

// close stops the checkpointer, copies the whole WAL into the database
// file and empties it (the store's other connections are closed by then,
// so nothing holds it back), and closes its connection.
func (cp *checkpointer) close() error {
	cp.stop()
	<-cp.done
	ctx, cancel := context.WithTimeout(context.Background(), optimizeTimeout)
	defer cancel()
	return errors.Join(cp.checkpoint(ctx, "TRUNCATE"), cp.db.Close())
}
