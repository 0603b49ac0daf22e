package store

import (
	"context"
	"database/sql"
	"strings"
)

// batchParams bounds the placeholders of one statement. PostgreSQL takes
// up to 65535 and costs little per parameter; modernc.org/sqlite binds in
// time quadratic in the parameters of a statement, so its batches are
// small and their statement is prepared once per call.
func (db *DB) batchParams() int {
	if db.pg() {
		return 8000
	}
	return 256
}

// batchInsert runs "head VALUES (…), (…) tail" over n rows of ncols
// columns in as few statements as the parameter limit allows. row appends
// the values of row i to args.
func batchInsert(ctx context.Context, c conn, head, tail string, ncols, n int, row func(i int, args []any) []any) error {
	if n == 0 {
		return nil
	}
	if !c.db.pg() {
		// INSERT OR FAIL: a multi-row INSERT that may abort on a
		// constraint makes SQLite keep a statement journal, a copy of every
		// page the statement touches (a fifth of the ingest time of a
		// fleet's first inventories). FAIL leaves the rows before a
		// failing one in place instead of undoing them; every caller rolls
		// its whole transaction back on the error.
		head = strings.Replace(head, "INSERT INTO", "INSERT OR FAIL INTO", 1)
	}
	per := max(1, min(c.db.batchParams()/ncols, 500))
	stmt := func(rows int) string {
		tuple := "(" + marks(ncols) + ")"
		return head + " VALUES " + strings.TrimSuffix(strings.Repeat(tuple+", ", rows), ", ") + tail
	}
	var full *sql.Stmt // the statement of a whole batch, prepared once
	if n >= 2*per {
		var err error
		if full, err = c.prepare(ctx, stmt(per)); err != nil {
			return err
		}
		defer full.Close()
	}
	args := make([]any, 0, per*ncols)
	for start := 0; start < n; start += per {
		end := min(start+per, n)
		args = args[:0]
		for i := start; i < end; i++ {
			args = row(i, args)
		}
		var err error
		if end-start == per && full != nil {
			_, err = full.ExecContext(ctx, args...)
			err = c.db.mapErr(err)
		} else {
			_, err = c.exec(ctx, stmt(end-start), args...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// batchIn runs "head IN (…) tail" for the values in chunks; pre are the
// arguments before the IN list, post those after it.
func batchIn(ctx context.Context, c conn, head, tail string, pre []any, vals []string, post ...any) error {
	const per = 500
	for start := 0; start < len(vals); start += per {
		end := min(start+per, len(vals))
		args := make([]any, 0, len(pre)+end-start+len(post))
		args = append(args, pre...)
		for _, v := range vals[start:end] {
			args = append(args, v)
		}
		args = append(args, post...)
		if _, err := c.exec(ctx, head+" IN ("+marks(end-start)+")"+tail, args...); err != nil {
			return err
		}
	}
	return nil
}
