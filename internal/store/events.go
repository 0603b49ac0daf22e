package store

import (
	"context"
	"fmt"
	"time"
)

// AddEvents appends events (Time defaults to now; Kind is required).
func (db *DB) AddEvents(ctx context.Context, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	return db.tx(ctx, func(c conn) error { return addEvents(ctx, c, events) })
}

func addEvents(ctx context.Context, c conn, events []Event) error {
	now := time.Now()
	rows := make([][]any, len(events))
	for i, e := range events {
		if e.Kind == "" {
			return invalidf("event without a kind")
		}
		if e.Time.IsZero() {
			e.Time = now
		}
		seq, err := seqArg(e.Seq)
		if err != nil {
			return err
		}
		data, err := jsonArg("event data", e.Data)
		if err != nil {
			return err
		}
		rows[i] = []any{e.AgentID, e.AssetID, seq, c.db.tv(e.Time), e.Kind, e.Severity, data}
	}
	err := batchInsert(ctx, c, `INSERT INTO events (agent_id, asset_id, seq, time, kind, severity, data)`, "", 7, len(rows),
		func(i int, args []any) []any { return append(args, rows[i]...) })
	if err != nil {
		return fmt.Errorf("store: add events: %w", err)
	}
	return nil
}

var eventsList = &listDef{
	tag:   "events",
	sorts: map[string]column{"time": {"time", kTime}},
	def:   "time",
	ties:  []column{{"id", kInt}},
	filters: map[string]filterFn{
		"agent_id": fExact("agent_id"),
		"asset_id": fExact("asset_id"),
		"kind":     fEnum("kind"),
		"severity": fEnum("severity"),
		"since":    fSince("time"),
		"until":    fUntil("time"),
	},
}

// ListEvents lists events. Filters: agent_id, asset_id (exact), kind,
// severity (enumerated), since (at or after), until (before), both RFC
// 3339; sorts: time (default; ties by id, which is arrival order).
func (db *DB) ListEvents(ctx context.Context, o ListOptions) (Page[Event], error) {
	q := query[Event]{
		cols: "id, agent_id, asset_id, seq, time, kind, severity, data", from: "events",
		dests: func(e *Event) []any {
			return []any{&e.ID, &e.AgentID, &e.AssetID, seqDest{&e.Seq}, timeDest{&e.Time}, &e.Kind, &e.Severity, rawDest{&e.Data}}
		},
	}
	return list(ctx, db, eventsList, o, q, nil)
}
