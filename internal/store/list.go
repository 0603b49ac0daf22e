package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Page sizes.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// valKind is the type of a sort or tie-break column, which is the type of
// its value in a cursor.
type valKind int

const (
	kString valKind = iota
	kInt
	kFloat
	kTime // microseconds in cursors
)

// column is a sortable column.
type column struct {
	expr string
	kind valKind
}

// listDef describes one list: its cursor tag, sort keys, the unique
// columns that break ties, and its filters.
type listDef struct {
	tag     string
	sorts   map[string]column
	def     string
	ties    []column
	filters map[string]filterFn
}

// filterFn adds the condition of one filter key with value v.
type filterFn func(w *where, v string) error

// where collects the conditions of a query.
type where struct {
	db    *DB
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// in adds "expr IN (…)" for the values (one value is "=").
func (w *where) in(expr string, vals []string) {
	if len(vals) == 1 {
		w.add(expr+" = ?", vals[0])
		return
	}
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	w.add(expr+" IN ("+marks(len(vals))+")", args...)
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// marks is n comma-separated placeholders.
func marks(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Filter constructors.

// fExact matches the column exactly.
func fExact(col string) filterFn {
	return func(w *where, v string) error { w.add(col+" = ?", v); return nil }
}

// fEnum matches any of comma-separated values; allowed, when not nil, is
// the closed set of values.
func fEnum(col string, allowed ...string) filterFn {
	return func(w *where, v string) error {
		vals := splitList(v)
		if len(vals) == 0 {
			return invalidf("empty value for %s", col)
		}
		if allowed != nil {
			for _, x := range vals {
				if !slices.Contains(allowed, x) {
					return invalidf("%s %q (want one of %s)", col, x, strings.Join(allowed, ", "))
				}
			}
		}
		w.in(col, vals)
		return nil
	}
}

func splitList(v string) []string {
	var out []string
	for x := range strings.SplitSeq(v, ",") {
		if x = strings.TrimSpace(x); x != "" && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// parseBool reads "true" or "false".
func parseBool(key, v string) (bool, error) {
	switch v {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, invalidf("%s %q (want true or false)", key, v)
}

// fBool matches a boolean column.
func fBool(col string) filterFn {
	return func(w *where, v string) error {
		b, err := parseBool(col, v)
		if err != nil {
			return err
		}
		w.add(col+" = ?", b)
		return nil
	}
}

// fNotNull matches "true": the column is set, "false": it is NULL.
func fNotNull(col string) filterFn {
	return func(w *where, v string) error {
		b, err := parseBool(col, v)
		if err != nil {
			return err
		}
		if b {
			w.add(col + " IS NOT NULL")
		} else {
			w.add(col + " IS NULL")
		}
		return nil
	}
}

// fInt matches an integer column.
func fInt(col string) filterFn {
	return func(w *where, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return invalidf("%s %q is not an integer", col, v)
		}
		w.add(col+" = ?", n)
		return nil
	}
}

// fMin matches a number column at least v.
func fMin(col string) filterFn {
	return func(w *where, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f != f {
			return invalidf("%s %q is not a number", col, v)
		}
		w.add(col+" >= ?", f)
		return nil
	}
}

// parseTime reads an RFC 3339 time.
func parseTime(key, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, invalidf("%s %q is not an RFC 3339 time", key, v)
	}
	return t, nil
}

// fSince matches times at or after v; fUntil times before v.
func fSince(col string) filterFn {
	return func(w *where, v string) error {
		t, err := parseTime("since", v)
		if err != nil {
			return err
		}
		w.add(col+" >= ?", w.db.tv(t))
		return nil
	}
}

func fUntil(col string) filterFn {
	return func(w *where, v string) error {
		t, err := parseTime("until", v)
		if err != nil {
			return err
		}
		w.add(col+" < ?", w.db.tv(t))
		return nil
	}
}

// fLabel matches "k=v" in a labels column.
func fLabel(col string) filterFn {
	return func(w *where, v string) error {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return invalidf("label %q (want key=value)", v)
		}
		if w.db.pg() {
			b, _ := json.Marshal(map[string]string{k: val})
			w.add(col+" @> ?::jsonb", string(b))
			return nil
		}
		if strings.ContainsAny(k, `"\`) {
			return invalidf("label key %q", k)
		}
		w.add("json_extract("+col+", ?) = ?", `$."`+k+`"`, val)
		return nil
	}
}

// fContains matches a case-insensitive (ASCII) substring.
func fContains(col string) filterFn {
	return func(w *where, v string) error {
		r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
		pat := "%" + r.Replace(v) + "%"
		op := "LIKE"
		if w.db.pg() {
			op = "ILIKE"
		}
		w.add(col+" "+op+` ? ESCAPE '\'`, pat)
		return nil
	}
}

// cursor is what Page.Next encodes: the list and sort it belongs to and
// the sort and tie-break values of the last row.
type cursor struct {
	List string            `json:"l"`
	Sort string            `json:"s"`
	Desc bool              `json:"d,omitempty"`
	Val  json.RawMessage   `json:"v"`
	Ties []json.RawMessage `json:"t"`
}

// keyVal holds one scanned key column.
type keyVal struct {
	kind valKind
	s    string
	n    int64
	f    float64
}

func (k *keyVal) dest() any {
	switch k.kind {
	case kString:
		return &k.s
	case kInt:
		return &k.n
	case kFloat:
		return &k.f
	default:
		return microsDest{&k.n}
	}
}

func (k *keyVal) json() json.RawMessage {
	var b []byte
	switch k.kind {
	case kString:
		b, _ = json.Marshal(k.s)
	case kFloat:
		b, _ = json.Marshal(k.f)
	default:
		b = strconv.AppendInt(nil, k.n, 10)
	}
	return b
}

// keyArg decodes a cursor value of kind into a query argument.
func (db *DB) keyArg(kind valKind, raw json.RawMessage) (any, error) {
	switch kind {
	case kString:
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case kFloat:
		var f float64
		err := json.Unmarshal(raw, &f)
		return f, err
	case kInt:
		var n int64
		err := json.Unmarshal(raw, &n)
		return n, err
	default:
		var n int64
		if err := json.Unmarshal(raw, &n); err != nil {
			return nil, err
		}
		return db.micros(n), nil
	}
}

// query is the SELECT of a list: its columns (with one destination each
// per row) and FROM clause.
type query[T any] struct {
	cols     string
	from     string
	fromArgs []any
	dests    func(*T) []any
}

// listQuery is the SQL of one page of a list, with what reading it needs.
type listQuery struct {
	sql     string
	args    []any
	keys    []column
	sortKey string
	limit   int
}

// list runs one page of def with options o. w holds conditions the caller
// adds beyond the filters (and gets the filters' conditions).
func list[T any](ctx context.Context, db *DB, def *listDef, o ListOptions, q query[T], w *where) (Page[T], error) {
	lq, err := buildList(db, def, o, q, w)
	if err != nil {
		return Page[T]{}, err
	}
	sqlText, args, keys, sortKey, limit := lq.sql, lq.args, lq.keys, lq.sortKey, lq.limit
	rows, err := db.reader().query(ctx, sqlText, args...)
	if err != nil {
		return Page[T]{}, fmt.Errorf("store: list %s: %w", def.tag, err)
	}
	defer rows.Close()
	page := Page[T]{Items: []T{}}
	kv := make([]keyVal, len(keys))
	for i, k := range keys {
		kv[i].kind = k.kind
	}
	var last []json.RawMessage
	for rows.Next() {
		if len(page.Items) == limit {
			c := cursor{List: def.tag, Sort: sortKey, Desc: o.Desc, Val: last[0], Ties: last[1:]}
			page.Next = encodeCursor(c)
			break
		}
		var item T
		dests := q.dests(&item)
		for i := range kv {
			dests = append(dests, kv[i].dest())
		}
		if err := rows.Scan(dests...); err != nil {
			return Page[T]{}, fmt.Errorf("store: list %s: %w", def.tag, err)
		}
		page.Items = append(page.Items, item)
		last = last[:0]
		for i := range kv {
			last = append(last, kv[i].json())
		}
	}
	if err := rows.Err(); err != nil {
		return Page[T]{}, fmt.Errorf("store: list %s: %w", def.tag, db.mapErr(err))
	}
	return page, nil
}

// buildList makes the SQL of one page of def with options o.
func buildList[T any](db *DB, def *listDef, o ListOptions, q query[T], w *where) (listQuery, error) {
	if w == nil {
		w = &where{db: db}
	}
	for _, k := range slices.Sorted(maps.Keys(o.Filter)) {
		f, ok := def.filters[k]
		if !ok {
			return listQuery{}, invalidf("unknown filter %q for %s (want %s)", k, def.tag, strings.Join(slices.Sorted(maps.Keys(def.filters)), ", "))
		}
		if f == nil {
			continue // handled by the caller
		}
		if err := f(w, o.Filter[k]); err != nil {
			return listQuery{}, err
		}
	}
	sortKey := o.Sort
	if sortKey == "" {
		sortKey = def.def
	}
	sc, ok := def.sorts[sortKey]
	if !ok {
		return listQuery{}, invalidf("unknown sort %q for %s (want %s)", o.Sort, def.tag, strings.Join(slices.Sorted(maps.Keys(def.sorts)), ", "))
	}
	limit := o.Limit
	switch {
	case limit < 0:
		return listQuery{}, invalidf("negative limit %d", limit)
	case limit == 0:
		limit = defaultLimit
	case limit > maxLimit:
		limit = maxLimit
	}
	keys := append([]column{sc}, def.ties...)
	exprs := make([]string, len(keys))
	for i, k := range keys {
		exprs[i] = k.expr
	}
	dir, cmp := "ASC", ">"
	if o.Desc {
		dir, cmp = "DESC", "<"
	}
	if o.Cursor != "" {
		c, err := decodeCursor(o.Cursor)
		if err != nil || c.List != def.tag || c.Sort != sortKey || c.Desc != o.Desc || len(c.Ties) != len(def.ties) {
			return listQuery{}, invalidf("cursor does not belong to this list and sort order")
		}
		args := make([]any, len(keys))
		for i, k := range keys {
			raw := c.Val
			if i > 0 {
				raw = c.Ties[i-1]
			}
			if args[i], err = db.keyArg(k.kind, raw); err != nil {
				return listQuery{}, invalidf("bad cursor")
			}
		}
		w.add("("+strings.Join(exprs, ", ")+") "+cmp+" ("+marks(len(keys))+")", args...)
	}
	order := make([]string, len(exprs))
	for i, e := range exprs {
		order[i] = e + " " + dir
	}
	sqlText := "SELECT " + q.cols + ", " + strings.Join(exprs, ", ") + " FROM " + q.from + w.sql() +
		" ORDER BY " + strings.Join(order, ", ") + " LIMIT " + strconv.Itoa(limit+1)
	args := append(append([]any(nil), q.fromArgs...), w.args...)
	return listQuery{sql: sqlText, args: args, keys: keys, sortKey: sortKey, limit: limit}, nil
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	if len(s) > 4096 {
		return c, fmt.Errorf("cursor too long")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, err
	}
	err = json.Unmarshal(b, &c)
	return c, err
}
