package vulndb

import (
	"testing"

	"github.com/vigil-sec/vigil/internal/advisory"
)

func TestRecordCacheEvictsByBytes(t *testing.T) {
	c := newRecordCache(1000)
	for i := range int64(10) {
		c.put(i, &advisory.Advisory{ID: "A"}, 300)
	}
	// Room for three of 300 bytes: the three most recent stay.
	if c.size > 1000 || c.ll.Len() != 3 {
		t.Fatalf("size %d, %d entries; want <= 1000 bytes, 3 entries", c.size, c.ll.Len())
	}
	for i := range int64(10) {
		if _, ok := c.get(i); ok != (i >= 7) {
			t.Errorf("entry %d cached = %v", i, ok)
		}
	}
	// A use moves an entry to the front: 7 survives the next put, 8 goes.
	c.get(7)
	c.put(10, &advisory.Advisory{}, 300)
	if _, ok := c.get(7); !ok {
		t.Error("recently used entry evicted")
	}
	if _, ok := c.get(8); ok {
		t.Error("least recently used entry kept")
	}
	// One entry over the budget is still kept (the newest), alone.
	c.put(11, &advisory.Advisory{}, 5000)
	if _, ok := c.get(11); !ok || c.ll.Len() != 1 {
		t.Errorf("oversized entry: cached %v, %d entries", ok, c.ll.Len())
	}
	// A second put of a cached id keeps the first value and size.
	first := &advisory.Advisory{ID: "first"}
	c.put(12, first, 10)
	c.put(12, &advisory.Advisory{ID: "second"}, 10)
	if a, _ := c.get(12); a != first {
		t.Errorf("second put replaced the value")
	}
	if c.size != 10 {
		t.Errorf("size %d after the duplicate put, want 10", c.size)
	}
}
