package vulndb

import (
	"container/list"
	"sync"

	"github.com/vigil-sec/vigil/internal/advisory"
)

// recordCache keeps the most recently used decoded advisory records
// (everything but Affected), by row id: the same advisory is hit by many
// packages of an inventory (every binary of a Debian source package, every
// module of a Go repository). Safe for concurrent use. Values are never
// handed out: callers get copies (see cloneRecord).
type recordCache struct {
	mu    sync.Mutex
	max   int // bytes, as recordCost counts them
	size  int
	ll    *list.List // front: most recently used; values are *cacheEntry
	items map[int64]*list.Element
}

type cacheEntry struct {
	id   int64
	cost int
	adv  *advisory.Advisory
}

func newRecordCache(maxBytes int) *recordCache {
	return &recordCache{max: maxBytes, ll: list.New(), items: make(map[int64]*list.Element)}
}

// recordCost estimates the memory a decoded record holds.
func recordCost(a *advisory.Advisory) int {
	n := 256 + len(a.ID) + len(a.Source) + len(a.Summary) + len(a.Details)
	for _, ss := range [][]string{a.Aliases, a.Related, a.Upstream, a.References} {
		for _, s := range ss {
			n += 16 + len(s)
		}
	}
	for _, s := range a.Severity {
		n += 32 + len(s.Type) + len(s.Vector)
	}
	return n
}

func (c *recordCache) get(id int64) (*advisory.Advisory, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[id]
	if !ok {
		return nil, false
	}
	c.ll.MoveToFront(e)
	return e.Value.(*cacheEntry).adv, true
}

func (c *recordCache) put(id int64, adv *advisory.Advisory, cost int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[id]; ok {
		// Another goroutine decoded the same record meanwhile.
		c.ll.MoveToFront(e)
		return
	}
	c.items[id] = c.ll.PushFront(&cacheEntry{id: id, cost: cost, adv: adv})
	c.size += cost
	for c.size > c.max && c.ll.Len() > 1 {
		last := c.ll.Back()
		c.ll.Remove(last)
		ent := last.Value.(*cacheEntry)
		delete(c.items, ent.id)
		c.size -= ent.cost
	}
}

// cloneRecord copies a cached record deeply enough that the caller may
// change anything in it.
func cloneRecord(a *advisory.Advisory) advisory.Advisory {
	c := *a
	c.Aliases = cloneStrings(a.Aliases)
	c.Related = cloneStrings(a.Related)
	c.Upstream = cloneStrings(a.Upstream)
	c.References = cloneStrings(a.References)
	if a.Severity != nil {
		c.Severity = append([]advisory.Severity(nil), a.Severity...)
	}
	c.Affected = nil
	return c
}

func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s...)
}
