package console

import (
	"net/http"
	"net/url"
)

// listView is a list page's data: its query (for the filter form), one
// page of items and the links to the first and next pages.
type listView[T any] struct {
	Q      listQuery
	Items  []T
	Next   string // URL of the next page; "" on the last
	First  string // URL of the first page; "" on the first
	Sorts  []string
	Limits []int
}

// fetchList reads one page of an API list for a list page at path. extra
// are API parameters the page adds (fixed filters); keep are page
// parameters its links carry (the asset page's tab).
func fetchList[T any](c *Console, r *http.Request, s *session, lq listQuery, apiP, path string, extra, keep url.Values) (listView[T], error) {
	q := lq.api()
	for k, vs := range extra {
		q[k] = vs
	}
	var pg page[T]
	if err := c.api.get(r, s.token, apiP, q, &pg); err != nil {
		return listView[T]{}, err
	}
	v := listView[T]{Q: lq, Items: pg.Items, Sorts: lq.spec.sorts, Limits: limits}
	if pg.Next != "" {
		v.Next = lq.link(path, pg.Next, keep)
	}
	if lq.Cursor != "" {
		v.First = lq.link(path, "", keep)
	}
	return v, nil
}
