package console

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Bounds of what a list query may carry.
const (
	maxTextValue = 200
	maxCursor    = 2048
	defaultLimit = 50
)

// limits are the page sizes offered.
var limits = []int{25, 50, 100, 200}

// fieldKind is how a filter's value is read.
type fieldKind int

const (
	fText  fieldKind = iota // free text, bounded
	fEnum                   // one of values
	fMulti                  // any of values, repeated or comma-separated; sent as "a,b"
	fRisk                   // a number from 0 to 100
	fDate                   // YYYY-MM-DD, sent as RFC 3339 at 00:00 UTC
	fUntil                  // YYYY-MM-DD, sent as RFC 3339 at 00:00 UTC of the next day
)

// field is one filter of a list page. name is the form's and the API's
// parameter; api, when set, is the API's name instead.
type field struct {
	name   string
	kind   fieldKind
	values []string
	api    string
}

// listSpec is what a list page accepts in its query string.
type listSpec struct {
	fields  []field
	sorts   []string // first is the default
	desc    bool     // default order
	noOrder bool     // the API has a single sort direction worth offering
}

// listQuery is a list page's query, checked: what the filter form shows
// and what the API is asked.
type listQuery struct {
	spec   *listSpec
	Values map[string]string   // text, enum, risk and date fields
	Multi  map[string][]string // multi fields
	Sort   string
	Desc   bool
	Limit  int
	Cursor string
	// Dropped names the parameters that were ignored as invalid.
	Dropped []string
}

// validText accepts bounded, printable UTF-8.
func validText(s string) bool {
	if len(s) > maxTextValue || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// validCursor accepts the API's opaque cursors: base64url text.
func validCursor(s string) bool {
	if s == "" || len(s) > maxCursor {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// parseDate reads YYYY-MM-DD.
func parseDate(s string) (time.Time, bool) {
	t, err := time.Parse(time.DateOnly, s)
	return t, err == nil && t.Year() >= 1970 && t.Year() < 10000
}

// parseList reads a list page's query. Unknown parameters are ignored;
// invalid values are dropped and named in Dropped, never sent on.
func parseList(spec *listSpec, q url.Values) listQuery {
	lq := listQuery{spec: spec, Values: map[string]string{}, Multi: map[string][]string{}, Sort: spec.sorts[0], Desc: spec.desc, Limit: defaultLimit}
	drop := func(name string) {
		if !slices.Contains(lq.Dropped, name) {
			lq.Dropped = append(lq.Dropped, name)
		}
	}
	for _, f := range spec.fields {
		vs := q[f.name]
		if f.kind == fMulti {
			var picked []string
			for _, v := range vs {
				for x := range strings.SplitSeq(v, ",") {
					x = strings.TrimSpace(x)
					switch {
					case x == "":
					case !slices.Contains(f.values, x):
						drop(f.name)
					case !slices.Contains(picked, x):
						picked = append(picked, x)
					}
				}
			}
			if len(picked) > 0 {
				// Keep the spec's order so equal selections compare equal.
				slices.SortFunc(picked, func(a, b string) int {
					return slices.Index(f.values, a) - slices.Index(f.values, b)
				})
				lq.Multi[f.name] = picked
			}
			continue
		}
		if len(vs) == 0 {
			continue
		}
		v := strings.TrimSpace(vs[0])
		if len(vs) > 1 {
			drop(f.name)
		}
		if v == "" {
			continue
		}
		ok := false
		switch f.kind {
		case fText:
			ok = validText(v)
		case fEnum:
			ok = slices.Contains(f.values, v)
		case fRisk:
			n, err := strconv.ParseFloat(v, 64)
			ok = err == nil && n >= 0 && n <= 100
			if ok {
				v = strconv.FormatFloat(n, 'f', -1, 64)
			}
		case fDate, fUntil:
			_, ok = parseDate(v)
		}
		if !ok {
			drop(f.name)
			continue
		}
		lq.Values[f.name] = v
	}
	if v := q.Get("sort"); v != "" {
		if slices.Contains(spec.sorts, v) {
			lq.Sort = v
		} else {
			drop("sort")
		}
	}
	switch v := q.Get("order"); v {
	case "":
	case "asc":
		lq.Desc = false
	case "desc":
		lq.Desc = true
	default:
		drop("order")
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err == nil && slices.Contains(limits, n) {
			lq.Limit = n
		} else {
			drop("limit")
		}
	}
	if v := q.Get("cursor"); v != "" {
		if validCursor(v) {
			lq.Cursor = v
		} else {
			drop("cursor")
		}
	}
	return lq
}

// api is the API query of the list page.
func (lq listQuery) api() url.Values {
	q := url.Values{}
	for _, f := range lq.spec.fields {
		name := f.name
		if f.api != "" {
			name = f.api
		}
		if f.kind == fMulti {
			if vs := lq.Multi[f.name]; len(vs) > 0 {
				q.Set(name, strings.Join(vs, ","))
			}
			continue
		}
		v, ok := lq.Values[f.name]
		if !ok {
			continue
		}
		switch f.kind {
		case fDate:
			t, _ := parseDate(v)
			v = t.Format(time.RFC3339)
		case fUntil:
			t, _ := parseDate(v)
			v = t.AddDate(0, 0, 1).Format(time.RFC3339)
		}
		q.Set(name, v)
	}
	q.Set("sort", lq.Sort)
	if lq.Desc {
		q.Set("order", "desc")
	} else {
		q.Set("order", "asc")
	}
	q.Set("limit", strconv.Itoa(lq.Limit))
	if lq.Cursor != "" {
		q.Set("cursor", lq.Cursor)
	}
	return q
}

// form is the page's own query for these filters (no cursor), for links.
func (lq listQuery) form() url.Values {
	q := url.Values{}
	for _, f := range lq.spec.fields {
		if f.kind == fMulti {
			if vs := lq.Multi[f.name]; len(vs) > 0 {
				q.Set(f.name, strings.Join(vs, ","))
			}
		} else if v, ok := lq.Values[f.name]; ok {
			q.Set(f.name, v)
		}
	}
	if lq.Sort != lq.spec.sorts[0] {
		q.Set("sort", lq.Sort)
	}
	if lq.Desc != lq.spec.desc {
		if lq.Desc {
			q.Set("order", "desc")
		} else {
			q.Set("order", "asc")
		}
	}
	if lq.Limit != defaultLimit {
		q.Set("limit", strconv.Itoa(lq.Limit))
	}
	return q
}

// link is the page's URL at path with these filters and a cursor ("" for
// the first page), plus extra parameters (the asset page's tab).
func (lq listQuery) link(path, cursor string, extra url.Values) string {
	q := lq.form()
	for k, vs := range extra {
		q[k] = vs
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// Has reports whether a multi field has a value selected (for templates).
func (lq listQuery) Has(name, value string) bool { return slices.Contains(lq.Multi[name], value) }

// Filtered reports whether any filter is set.
func (lq listQuery) Filtered() bool { return len(lq.Values)+len(lq.Multi) > 0 }

// safeNext returns s when it is a path on this site ("/x?y"), else "/".
// It guards every redirect target taken from a form or query.
func safeNext(s string) string {
	if s == "" || len(s) > 2048 || s[0] != '/' || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") {
		return "/"
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] == 0x7f || s[i] == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return s
}

// Bounds of the labels an enrollment token form may give.
const (
	maxFormLabels = 32
	maxLabelKey   = 63
	maxLabelValue = maxTextValue
)

// parseLabels reads "key=value" lines (blank lines ignored). It checks
// shape and size only; the API validates keys.
func parseLabels(s string) (map[string]string, bool) {
	out := map[string]string{}
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || len(k) > maxLabelKey || len(v) > maxLabelValue || !validText(k) || !validText(v) {
			return nil, false
		}
		out[k] = v
		if len(out) > maxFormLabels {
			return nil, false
		}
	}
	return out, true
}
