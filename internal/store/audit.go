package store

import (
	"context"
	"fmt"
	"time"
)

const auditCols = `id, time, actor, action, target, detail, remote`

func auditDests(e *AuditEntry) []any {
	return []any{&e.ID, timeDest{&e.Time}, &e.Actor, &e.Action, &e.Target, rawDest{&e.Detail}, &e.Remote}
}

// Audit appends an entry (Time defaults to now). Actor and Action are
// required.
func (db *DB) Audit(ctx context.Context, e AuditEntry) error {
	if e.Actor == "" || e.Action == "" {
		return invalidf("audit entry without actor or action")
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	detail, err := jsonArg("audit detail", e.Detail)
	if err != nil {
		return err
	}
	if _, err := db.writer().exec(ctx, `INSERT INTO audit (time, actor, action, target, detail, remote) VALUES (?, ?, ?, ?, ?, ?)`,
		db.tv(e.Time), e.Actor, e.Action, e.Target, detail, e.Remote); err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

var auditList = &listDef{
	tag:   "audit",
	sorts: map[string]column{"time": {"time", kTime}},
	def:   "time",
	ties:  []column{{"id", kInt}},
	filters: map[string]filterFn{
		"actor":  fExact("actor"),
		"action": fExact("action"),
		"target": fExact("target"),
		"since":  fSince("time"),
		"until":  fUntil("time"),
	},
}

// ListAudit lists the audit log. Filters: actor, action, target (exact),
// since (at or after), until (before), both RFC 3339; sorts: time
// (default, newest first when Desc).
func (db *DB) ListAudit(ctx context.Context, o ListOptions) (Page[AuditEntry], error) {
	return list(ctx, db, auditList, o, query[AuditEntry]{cols: auditCols, from: "audit", dests: auditDests}, nil)
}
