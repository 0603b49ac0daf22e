package store

import (
	"context"
	"strings"
)

// maxBatchParams bounds the placeholders of one statement (SQLite allows
// 32766, PostgreSQL 65535).
const maxBatchParams = 8000

// batchInsert runs "head VALUES (…), (…) tail" over n rows of ncols
// columns in as few statements as the parameter limit allows. row appends
// the values of row i to args.
func batchInsert(ctx context.Context, c conn, head, tail string, ncols, n int, row func(i int, args []any) []any) error {
	if n == 0 {
		return nil
	}
	per := max(1, min(maxBatchParams/ncols, 500))
	tuple := "(" + marks(ncols) + ")"
	var full string // the statement of a whole batch, built once
	args := make([]any, 0, per*ncols)
	for start := 0; start < n; start += per {
		end := min(start+per, n)
		args = args[:0]
		for i := start; i < end; i++ {
			args = row(i, args)
		}
		var q string
		if end-start == per && full != "" {
			q = full
		} else {
			q = head + " VALUES " + strings.TrimSuffix(strings.Repeat(tuple+", ", end-start), ", ") + tail
			if end-start == per {
				full = q
			}
		}
		if _, err := c.exec(ctx, q, args...); err != nil {
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
