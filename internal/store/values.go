package store

import (
	"encoding/json"
	"fmt"
	"time"
)

// Column values shared by both dialects. Times are stored at microsecond
// precision in UTC: INTEGER microseconds since the epoch on SQLite,
// TIMESTAMPTZ on PostgreSQL. Every time read back is in UTC.

// tv is the column value of a time.
func (db *DB) tv(t time.Time) any {
	if db.pg() {
		return t.UTC().Truncate(time.Microsecond)
	}
	return t.UnixMicro()
}

// tvp is the column value of an optional time (nil is NULL).
func (db *DB) tvp(t *time.Time) any {
	if t == nil {
		return nil
	}
	return db.tv(*t)
}

// micros is the column value of a time given in microseconds.
func (db *DB) micros(us int64) any {
	if db.pg() {
		return time.UnixMicro(us).UTC()
	}
	return us
}

// utc normalises a time to what the store keeps.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// timeDest scans a time column.
type timeDest struct{ t *time.Time }

func (d timeDest) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*d.t = time.Time{}
	case int64:
		*d.t = time.UnixMicro(x).UTC()
	case time.Time:
		*d.t = x.UTC()
	default:
		return fmt.Errorf("store: time column holds %T", v)
	}
	return nil
}

// ntimeDest scans a nullable time column.
type ntimeDest struct{ t **time.Time }

func (d ntimeDest) Scan(v any) error {
	if v == nil {
		*d.t = nil
		return nil
	}
	var t time.Time
	if err := (timeDest{&t}).Scan(v); err != nil {
		return err
	}
	*d.t = &t
	return nil
}

// microsDest scans a time column as microseconds (cursor values).
type microsDest struct{ us *int64 }

func (d microsDest) Scan(v any) error {
	var t time.Time
	if err := (timeDest{&t}).Scan(v); err != nil {
		return err
	}
	*d.us = t.UnixMicro()
	return nil
}

// bytesOf returns a copy of a text or blob column value.
func bytesOf(v any) ([]byte, bool, error) {
	switch x := v.(type) {
	case nil:
		return nil, false, nil
	case string:
		return []byte(x), true, nil
	case []byte:
		return append([]byte(nil), x...), true, nil
	default:
		return nil, false, fmt.Errorf("store: JSON column holds %T", v)
	}
}

// rawDest scans a JSON column into a json.RawMessage (NULL is nil).
type rawDest struct{ r *json.RawMessage }

func (d rawDest) Scan(v any) error {
	b, ok, err := bytesOf(v)
	if err != nil {
		return err
	}
	if !ok || len(b) == 0 || string(b) == "null" {
		*d.r = nil
		return nil
	}
	*d.r = b
	return nil
}

// labelsDest scans a JSON object of strings.
type labelsDest struct{ m *map[string]string }

func (d labelsDest) Scan(v any) error {
	b, ok, err := bytesOf(v)
	if err != nil || !ok {
		*d.m = nil
		return err
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("store: labels: %w", err)
	}
	if len(m) == 0 {
		m = nil
	}
	*d.m = m
	return nil
}

// stringsDest scans a JSON array of strings.
type stringsDest struct{ s *[]string }

func (d stringsDest) Scan(v any) error {
	b, ok, err := bytesOf(v)
	if err != nil || !ok {
		*d.s = nil
		return err
	}
	var s []string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if len(s) == 0 {
		s = nil
	}
	*d.s = s
	return nil
}

// jsonValid says whether b is one JSON document.
func jsonValid(b []byte) bool { return json.Valid(b) }

// jsonArg is the column value of a JSON document: NULL when empty,
// ErrInvalid when not JSON.
func jsonArg(what string, r json.RawMessage) (any, error) {
	if len(r) == 0 {
		return nil, nil
	}
	if !json.Valid(r) {
		return nil, fmt.Errorf("%w: %s is not valid JSON", ErrInvalid, what)
	}
	return string(r), nil
}

// labelsArg is the column value of labels (NULL when none).
func labelsArg(m map[string]string) any {
	if len(m) == 0 {
		return nil
	}
	b, _ := json.Marshal(m) // a map of strings always marshals
	return string(b)
}

// stringsArg is the column value of a list of strings (never NULL).
func stringsArg(s []string) any {
	if s == nil {
		s = []string{}
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// seqArg is the column value of a sequence number.
func seqArg(seq uint64) (int64, error) {
	if seq > 1<<63-1 {
		return 0, fmt.Errorf("%w: sequence number %d out of range", ErrInvalid, seq)
	}
	return int64(seq), nil
}

// durationDest scans nanoseconds into a time.Duration.
type durationDest struct{ d *time.Duration }

func (d durationDest) Scan(v any) error {
	n, ok := v.(int64)
	if !ok {
		return fmt.Errorf("store: duration column holds %T", v)
	}
	*d.d = time.Duration(n)
	return nil
}

// seqDest scans a sequence number.
type seqDest struct{ s *uint64 }

func (d seqDest) Scan(v any) error {
	n, ok := v.(int64)
	if !ok || n < 0 {
		return fmt.Errorf("store: sequence column holds %T %v", v, v)
	}
	*d.s = uint64(n)
	return nil
}
