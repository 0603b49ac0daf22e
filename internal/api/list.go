package api

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/vigil-sec/vigil/internal/store"
)

// Query parameters every list takes besides its filters.
const (
	qSort   = "sort"
	qOrder  = "order"
	qLimit  = "limit"
	qCursor = "cursor"
)

// listSpec documents a list endpoint: its filters and sort keys (the
// store enforces them), and whether it runs newest or highest first by
// default.
type listSpec struct {
	filters []param
	sorts   []string
	desc    bool // default order
	// fixed names filters taken from the path, which the query may not set.
	fixed []string
}

// listOptions reads the list query: sort, order, limit, cursor, and every
// other parameter as a filter; fixed filters (from the path) are added
// and may not be overridden.
func listOptions(r *http.Request, spec *listSpec, fixed map[string]string) (store.ListOptions, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return store.ListOptions{}, invalidf("query: %v", err)
	}
	o := store.ListOptions{Filter: map[string]string{}, Desc: spec.desc}
	for k, vs := range q {
		if len(vs) != 1 {
			return o, invalidf("query parameter %q given %d times", k, len(vs))
		}
		v := vs[0]
		switch k {
		case qSort:
			o.Sort = v
		case qOrder:
			switch v {
			case "asc":
				o.Desc = false
			case "desc":
				o.Desc = true
			default:
				return o, invalidf("order must be asc or desc")
			}
		case qLimit:
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				return o, invalidf("limit must be an integer from 1 to 1000")
			}
			o.Limit = n
		case qCursor:
			o.Cursor = v
		default:
			if _, ok := fixed[k]; ok {
				return o, invalidf("query parameter %q is set by the path", k)
			}
			o.Filter[k] = v
		}
	}
	for k, v := range fixed {
		o.Filter[k] = v
	}
	return o, nil
}

// pageBody is the JSON shape of every list response.
type pageBody[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// writePage writes one page of a list, with a Link header to the next.
func writePage[T any](w http.ResponseWriter, r *http.Request, pg store.Page[T]) {
	if pg.Next != "" {
		q := r.URL.Query()
		q.Set(qCursor, pg.Next)
		next := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		w.Header().Set("Link", "<"+next.String()+`>; rel="next"`)
	}
	items := pg.Items
	if items == nil {
		items = []T{}
	}
	writeJSON(w, http.StatusOK, pageBody[T]{Items: items, Next: pg.Next})
}

// listAll collects every item of a list, for small lists (admins, one
// user's tokens), stopping once it has at least max.
func listAll[T any](list func(store.ListOptions) (store.Page[T], error), o store.ListOptions, max int) ([]T, error) {
	var all []T
	o.Limit = 1000
	for {
		pg, err := list(o)
		if err != nil {
			return nil, err
		}
		all = append(all, pg.Items...)
		if pg.Next == "" || len(all) >= max {
			return all, nil
		}
		o.Cursor = pg.Next
	}
}
