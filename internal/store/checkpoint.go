package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
		// to the next one or to the writer's backstop; nothing is lost.
		cp.checkpoint(ctx, "PASSIVE")
	}
}

// checkpoint runs one checkpoint of mode (PASSIVE, or TRUNCATE at close).
func (cp *checkpointer) checkpoint(ctx context.Context, mode string) error {
	var busy, log, copied int
	if err := cp.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &log, &copied); err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	return nil
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
