package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// AgentSeen is when the server last heard from an agent, with the stats
// of its last heartbeat (empty: keep the stored ones).
type AgentSeen struct {
	ID    string
	At    time.Time
	Stats json.RawMessage
}

// AgentsSeen records many agents' liveness at once (the server keeps it in
// memory and writes it in periodic batches): each agent's LastSeen becomes
// At unless the stored one is later, its Stats are replaced when given,
// and Silent is cleared. Unknown agents are skipped. Chunks of agents are
// written in one transaction each, in ID order.
func (db *DB) AgentsSeen(ctx context.Context, seen []AgentSeen) error {
	for _, s := range seen {
		if len(s.Stats) > 0 && !jsonValid(s.Stats) {
			return invalidf("agent %s stats are not valid JSON", s.ID)
		}
	}
	seen = slices.SortedFunc(slices.Values(seen), func(a, b AgentSeen) int { return cmp.Compare(a.ID, b.ID) })
	const per = 1000
	for start := 0; start < len(seen); start += per {
		chunk := seen[start:min(start+per, len(seen))]
		err := db.tx(ctx, func(c conn) error {
			if db.pg() {
				// Row locks in ID order, as IngestBatch takes them.
				ids := make([]string, len(chunk))
				for i, s := range chunk {
					ids[i] = s.ID
				}
				if _, err := lockAgents(ctx, c, slices.Compact(ids)); err != nil {
					return err
				}
			}
			st, err := c.prepare(ctx, `UPDATE agents SET last_seen = CASE WHEN last_seen > ? THEN last_seen ELSE ? END,
				stats = COALESCE(?, stats), silent = FALSE WHERE id = ?`)
			if err != nil {
				return err
			}
			defer st.Close()
			for _, s := range chunk {
				var stats any
				if len(s.Stats) > 0 {
					stats = string(s.Stats)
				}
				at := db.tv(s.At)
				if _, err := st.ExecContext(ctx, at, at, stats, s.ID); err != nil {
					return db.mapErr(err)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("store: agents seen: %w", err)
		}
	}
	return nil
}
