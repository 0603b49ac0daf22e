package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// IngestMessage is one agent message of an IngestBatch: Apply writes it
// through its Ingester, as the fn of Ingest does.
type IngestMessage struct {
	AgentID string
	Seq     uint64
	Apply   func(Ingester) error
}

// IngestResult is what IngestBatch did with one message.
type IngestResult struct {
	// Duplicate: Seq was not above the agent's LastSeq (a replay); Apply
	// did not run.
	Duplicate bool
	// Err is the message's own failure (Apply's error, an unknown agent,
	// a bad sequence number): nothing it wrote is kept and its agent's
	// LastSeq is unchanged, while the other messages of the batch commit.
	Err error
}

// ErrEarlierFailed is the result of a message whose agent had an earlier
// message in the same batch fail: an agent's messages apply in sequence,
// so nothing after a failure is applied (its LastSeq stays before it).
var ErrEarlierFailed = errors.New("store: ingest: an earlier message of the agent failed")

// maxOptimistic bounds the savepoint-free attempts of an IngestBatch.
const maxOptimistic = 3

// errRetryBatch aborts an attempt of IngestBatch after a message failed.
var errRetryBatch = errors.New("retry the batch without the failed message")

// IngestBatch applies many agents' messages in one transaction (group
// commit). Each message is applied as by Ingest: a replay (seq not above
// its agent's LastSeq, counting the messages before it in the batch) is
// skipped and reported Duplicate, otherwise Apply runs and the agent's
// LastSeq becomes seq. A message whose Apply fails is reported in its
// result with nothing of it kept, later messages of its agent in the batch
// fail with ErrEarlierFailed, and the other messages commit. The results,
// one per message in order, hold once the batch committed, before
// IngestBatch returns; an error means nothing of the batch was committed.
//
// Failures are rare, so a batch is first applied without savepoints: a
// savepoint makes SQLite copy every page a message first touches into a
// statement journal, which cost a fifth of the ingest time of a fleet's
// first inventories. When a message fails, the transaction is rolled back
// and the batch applied again without it (Apply may run more than once);
// after maxOptimistic such attempts the rest are applied each under a
// savepoint.
//
// Apply must use only the Ingester it is given, not the Store: on SQLite
// the transaction holds the only write connection.
func (db *DB) IngestBatch(ctx context.Context, msgs []IngestMessage) ([]IngestResult, error) {
	res := make([]IngestResult, len(msgs))
	if len(msgs) == 0 {
		return res, nil
	}
	ids := make([]string, 0, len(msgs))
	for _, m := range msgs {
		ids = append(ids, m.AgentID)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	known := map[int]error{} // messages that failed in an earlier attempt
	for attempt := 0; ; attempt++ {
		failed, failErr := -1, error(nil)
		err := db.tx(ctx, func(c conn) error {
			clear(res)
			var err error
			failed, failErr, err = db.applyBatch(ctx, c, msgs, res, ids, known, attempt >= maxOptimistic)
			if err == nil && failed >= 0 {
				return errRetryBatch
			}
			return err
		})
		if errors.Is(err, errRetryBatch) {
			known[failed] = fmt.Errorf("store: ingest: %w", failErr)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("store: ingest batch: %w", err)
		}
		return res, nil
	}
}

// applyBatch is one attempt of IngestBatch. Without savepoints it stops at
// the first message that fails and returns its index and error; with
// them it rolls that message back alone and goes on.
func (db *DB) applyBatch(ctx context.Context, c conn, msgs []IngestMessage, res []IngestResult, ids []string,
	known map[int]error, savepoints bool) (failed int, failErr error, err error) {
	last, err := lockAgents(ctx, c, ids)
	if err != nil {
		return -1, nil, err
	}
	advanced := map[string]int64{}
	broken := map[string]bool{} // agents with a failed message in this batch
	for i, m := range msgs {
		s, err := seqArg(m.Seq)
		if err != nil {
			res[i].Err = err
			continue
		}
		l, ok := last[m.AgentID]
		switch {
		case !ok:
			res[i].Err = fmt.Errorf("store: ingest: agent %s: %w", m.AgentID, ErrNotFound)
			continue
		case s <= l:
			res[i].Duplicate = true
			continue
		case broken[m.AgentID]:
			res[i].Err = ErrEarlierFailed
			continue
		}
		if e, ok := known[i]; ok {
			res[i].Err, broken[m.AgentID] = e, true
			continue
		}
		if !savepoints {
			if err := m.Apply(&ingester{c}); err != nil {
				return i, err, nil
			}
		} else {
			if _, err := c.exec(ctx, `SAVEPOINT ingest_msg`); err != nil {
				return -1, nil, err
			}
			if err := m.Apply(&ingester{c}); err != nil {
				if _, rerr := c.exec(ctx, `ROLLBACK TO SAVEPOINT ingest_msg`); rerr != nil {
					return -1, nil, errors.Join(err, rerr)
				}
				if _, rerr := c.exec(ctx, `RELEASE SAVEPOINT ingest_msg`); rerr != nil {
					return -1, nil, errors.Join(err, rerr)
				}
				res[i].Err, broken[m.AgentID] = fmt.Errorf("store: ingest: %w", err), true
				continue
			}
			if _, err := c.exec(ctx, `RELEASE SAVEPOINT ingest_msg`); err != nil {
				return -1, nil, err
			}
		}
		last[m.AgentID] = s
		advanced[m.AgentID] = s
	}
	if len(advanced) == 0 {
		return -1, nil, nil
	}
	st, err := c.prepare(ctx, `UPDATE agents SET last_seq = ? WHERE id = ?`)
	if err != nil {
		return -1, nil, err
	}
	defer st.Close()
	for _, id := range ids {
		if s, ok := advanced[id]; ok {
			if _, err := st.ExecContext(ctx, s, id); err != nil {
				return -1, nil, db.mapErr(err)
			}
		}
	}
	return -1, nil, nil
}

// lockAgents returns the LastSeq of the agents (sorted IDs) that exist.
// On PostgreSQL it locks their rows, in ID order so that concurrent
// batches and liveness writes cannot deadlock.
func lockAgents(ctx context.Context, c conn, ids []string) (map[string]int64, error) {
	last := make(map[string]int64, len(ids))
	lock := ""
	if c.db.pg() {
		lock = " FOR UPDATE"
	}
	const per = 500
	for start := 0; start < len(ids); start += per {
		chunk := ids[start:min(start+per, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := c.query(ctx, `SELECT id, last_seq FROM agents WHERE id IN (`+marks(len(chunk))+`) ORDER BY id`+lock, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			var s int64
			if err := rows.Scan(&id, &s); err != nil {
				rows.Close()
				return nil, err
			}
			last[id] = s
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return last, nil
}
