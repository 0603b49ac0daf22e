package sensor

import (
	"container/list"
	"time"
)

// procKey identifies a process: PIDs are reused, (PID, start) is not.
type procKey struct {
	pid   int32
	start uint64
}

// procEntry is one cached process.
type procEntry struct {
	key       procKey
	p         Process
	container string // container ID, "" for the host
	exited    bool
	// ver counts the changes of p once cached, so that a lineage copied
	// from it can tell it is stale.
	ver uint64
	// lineage is the Parents of this process's children: p then its
	// ancestors, shared (read-only) by every event that uses it while
	// the entries it was copied from (lineageOf) are unchanged.
	lineage   []Process
	lineageOf []lineageRef
}

type lineageRef struct {
	e   *procEntry
	ver uint64
}

// procCache is a bounded LRU of processes with a by-PID index for the
// ancestry walk. Exited processes stay for a grace period so that events
// that raced with the exit still resolve. Not safe for concurrent use:
// only the sensor's event loop touches it.
type procCache struct {
	max   int
	grace time.Duration

	lru   *list.List // of *procEntry, most recent first
	byKey map[procKey]*list.Element
	byPID map[int32]*list.Element // the newest process with each PID
	exits []pendingExit
}

type pendingExit struct {
	key procKey
	at  time.Time
}

func newProcCache(max int, grace time.Duration) *procCache {
	return &procCache{max: max, grace: grace, lru: list.New(),
		byKey: map[procKey]*list.Element{}, byPID: map[int32]*list.Element{}}
}

func (c *procCache) len() int { return c.lru.Len() }

// get returns the process with that key, or nil.
func (c *procCache) get(k procKey) *procEntry {
	el, ok := c.byKey[k]
	if !ok {
		return nil
	}
	c.lru.MoveToFront(el)
	return el.Value.(*procEntry)
}

// pid returns the newest process with that PID, or nil.
func (c *procCache) pid(pid int32) *procEntry {
	el, ok := c.byPID[pid]
	if !ok {
		return nil
	}
	return el.Value.(*procEntry)
}

// put adds or replaces a process, evicting the least recently used one
// beyond the bound.
func (c *procCache) put(e *procEntry) {
	if el, ok := c.byKey[e.key]; ok {
		el.Value = e
		c.lru.MoveToFront(el)
	} else {
		el := c.lru.PushFront(e)
		c.byKey[e.key] = el
	}
	el := c.byKey[e.key]
	if old, ok := c.byPID[e.key.pid]; !ok || old.Value.(*procEntry).key.start <= e.key.start {
		c.byPID[e.key.pid] = el
	}
	for c.lru.Len() > c.max {
		c.remove(c.lru.Back())
	}
}

func (c *procCache) remove(el *list.Element) {
	e := el.Value.(*procEntry)
	c.lru.Remove(el)
	delete(c.byKey, e.key)
	if c.byPID[e.key.pid] == el {
		delete(c.byPID, e.key.pid)
	}
}

// exit marks a process as gone; it is removed after the grace period.
func (c *procCache) exit(k procKey, now time.Time) {
	if e := c.get(k); e != nil {
		e.exited = true
		e.lineage, e.lineageOf = nil, nil
	}
	c.exits = append(c.exits, pendingExit{key: k, at: now.Add(c.grace)})
}

// expire removes the processes whose grace period has passed.
func (c *procCache) expire(now time.Time) {
	n := 0
	for _, pe := range c.exits {
		if now.Before(pe.at) {
			break
		}
		if el, ok := c.byKey[pe.key]; ok && el.Value.(*procEntry).exited {
			c.remove(el)
		}
		n++
	}
	if n > 0 {
		c.exits = append(c.exits[:0], c.exits[n:]...)
	}
}

// ancestry returns the parents of a process, nearest first, at most
// MaxAncestry, stopping at PID 0, unknown parents and cycles. load, if
// not nil, is asked for parents missing from the cache.
func (c *procCache) ancestry(p *Process, load func(pid int32) *procEntry) []Process {
	// Walk the entries first, without copying. The result is the parent's
	// cached lineage when none of the entries changed since it was made
	// (a parent's children share it), else one copy of the exact length.
	var chain [MaxAncestry]*procEntry
	n := 0
	ppid := p.PPID
walk:
	for n < MaxAncestry && ppid > 0 && ppid != p.PID {
		for _, e := range chain[:n] {
			if e.key.pid == ppid {
				break walk // a cycle
			}
		}
		e := c.pid(ppid)
		if e == nil && load != nil {
			e = load(ppid)
		}
		if e == nil {
			break
		}
		chain[n] = e
		n++
		ppid = e.p.PPID
	}
	if n == 0 {
		return nil
	}
	parent := chain[0]
	if len(parent.lineageOf) == n {
		ok := true
		for i, r := range parent.lineageOf {
			if r.e != chain[i] || r.ver != chain[i].ver {
				ok = false
				break
			}
		}
		if ok {
			return parent.lineage
		}
	}
	out := make([]Process, n)
	refs := make([]lineageRef, n)
	for i, e := range chain[:n] {
		out[i] = e.p
		refs[i] = lineageRef{e, e.ver}
	}
	if !parent.exited {
		parent.lineage, parent.lineageOf = out, refs
	}
	return out
}
