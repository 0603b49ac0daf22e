package agent

import (
	"hash/maphash"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/vigil-sec/vigil/internal/agentpb"
	"google.golang.org/protobuf/proto"
)

// Collection is one inventory of the host: every live asset in full.
// Assets whose packages were not collected this time (a light collection)
// have HasPackages false and keep the packages last sent.
type Collection struct {
	Assets []CollectedAsset
}

// CollectedAsset is one asset of a Collection.
type CollectedAsset struct {
	Record      *agentpb.AssetRecord // metadata, and in full its packages and items
	HasPackages bool
	// ItemKinds are the item kinds collected in full for it.
	ItemKinds []string
}

// sentAsset is what the server holds for one asset, as far as the agent
// knows (everything it sent, acknowledged or still spooled). Packages and
// items are kept as a 64-bit hash of their content only: enough to tell
// whether one changed, and a host with 30,000 packages does not keep
// every record (with its JSON) between collections.
type sentAsset struct {
	meta     *agentpb.AssetRecord // without packages and items
	packages digests              // package ID → hash of its record
	items    digests              // kind "\x00" key → hash of its data
}

// digests maps keys to content hashes, compactly: every key in one
// string, in order, beside two flat arrays, three allocations in all and
// no pointers for the collector to follow. It outlives the collection it
// was made from; as a map keyed by the collection's own strings it kept
// each of them, and so each heap page that held one, alive: after a full
// collection of a large host that pinned most of the collection's pages
// (tens of thousands of small IDs, one or two per 8 KiB page).
type digests struct {
	keys   string
	ends   []uint32 // ends[i] is where key i ends in keys
	hashes []uint64
}

func (d *digests) len() int { return len(d.ends) }

func (d *digests) key(i int) string {
	start := uint32(0)
	if i > 0 {
		start = d.ends[i-1]
	}
	return d.keys[start:d.ends[i]]
}

// get returns k's hash.
func (d *digests) get(k string) (uint64, bool) {
	i := sort.Search(d.len(), func(i int) bool { return d.key(i) >= k })
	if i == d.len() || d.key(i) != k {
		return 0, false
	}
	return d.hashes[i], true
}

// digest is one entry of digests in the making.
type digest struct {
	key  string
	hash uint64
}

// makeDigests copies es (sorted by key, keys unique) into digests.
func makeDigests(es []digest) digests {
	n := 0
	for _, e := range es {
		n += len(e.key)
	}
	var b strings.Builder
	b.Grow(n)
	d := digests{ends: make([]uint32, len(es)), hashes: make([]uint64, len(es))}
	for i, e := range es {
		b.WriteString(e.key)
		d.ends[i] = uint32(b.Len())
		d.hashes[i] = e.hash
	}
	d.keys = b.String()
	return d
}

// tracker turns successive collections into deltas against what was sent.
type tracker struct {
	sent map[string]*sentAsset // by asset ID
	seed maphash.Seed
}

func newTracker() *tracker { return &tracker{sent: map[string]*sentAsset{}, seed: maphash.MakeSeed()} }

// packageHash hashes a package record (deterministic encoding, so equal
// records hash equally).
func (t *tracker) packageHash(p *agentpb.Package) uint64 {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(p)
	if err != nil {
		return 0 // never equal to a real hash in practice: the package is sent
	}
	return maphash.Bytes(t.seed, b)
}

// reset forgets what was sent, so the next delta is a full snapshot (after
// messages were dropped, or when the server asks).
func (t *tracker) reset() { t.sent = map[string]*sentAsset{} }

// delta returns the inventory message that brings the server from what was
// sent to c, or nil when nothing changed, and records c as sent.
func (t *tracker) delta(c Collection) *agentpb.Inventory {
	inv := &agentpb.Inventory{FullKinds: []string{"host", "container", "image"}}
	changed := false
	live := map[string]bool{}
	for _, ca := range c.Assets {
		r := ca.Record
		live[r.GetId()] = true
		prev := t.sent[r.GetId()]
		meta := stripContent(r)
		out := proto.Clone(meta).(*agentpb.AssetRecord)
		if prev == nil {
			prev = &sentAsset{}
			t.sent[r.GetId()] = prev
			changed = true
			if ca.HasPackages {
				out.PackagesFull = true
			}
			out.ItemKinds = slices.Clone(ca.ItemKinds)
		} else if !proto.Equal(prev.meta, meta) {
			changed = true
		}
		prev.meta = meta
		if ca.HasPackages {
			if t.diffPackages(prev, r, out) {
				changed = true
			}
		}
		if t.diffItems(prev, r, ca.ItemKinds, out) {
			changed = true
		}
		inv.Assets = append(inv.Assets, out)
	}
	for id := range t.sent {
		if !live[id] {
			delete(t.sent, id)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return inv
}

func stripContent(r *agentpb.AssetRecord) *agentpb.AssetRecord {
	m := proto.Clone(r).(*agentpb.AssetRecord)
	m.Packages, m.RemovedPackages, m.Items, m.RemovedItems, m.ItemKinds, m.PackagesFull = nil, nil, nil, nil, nil, false
	return m
}

// diffPackages fills out with the package changes from prev to r and
// updates prev; it reports whether anything changed.
func (t *tracker) diffPackages(prev *sentAsset, r, out *agentpb.AssetRecord) bool {
	byID := make(map[string]*agentpb.Package, len(r.GetPackages()))
	for _, p := range r.GetPackages() {
		byID[p.GetId()] = p
	}
	now := make([]digest, 0, len(byID))
	changed := false
	for _, id := range slices.Sorted(maps.Keys(byID)) {
		p := byID[id]
		h := t.packageHash(p)
		now = append(now, digest{id, h})
		if old, ok := prev.packages.get(id); !ok || old != h || out.PackagesFull {
			out.Packages = append(out.Packages, p)
			changed = true
		}
	}
	if !out.PackagesFull {
		for i := range prev.packages.len() {
			if id := prev.packages.key(i); byID[id] == nil {
				out.RemovedPackages = append(out.RemovedPackages, id)
				changed = true
			}
		}
	}
	prev.packages = makeDigests(now)
	return changed
}

// itemDigestKey is an item's key in sentAsset.items: kinds hold no NUL.
func itemDigestKey(kind, key string) string { return kind + "\x00" + key }

// diffItems does for items what diffPackages does for packages, for the
// kinds collected in full.
func (t *tracker) diffItems(prev *sentAsset, r *agentpb.AssetRecord, kinds []string, out *agentpb.AssetRecord) bool {
	full := map[string]bool{}
	for _, k := range kinds {
		full[k] = true
	}
	fresh := len(out.ItemKinds) > 0 // a new asset: the server replaces these kinds
	now := map[string]uint64{}
	for _, it := range r.GetItems() {
		if full[it.GetKind()] {
			now[itemDigestKey(it.GetKind(), it.GetKey())] = maphash.Bytes(t.seed, it.GetData())
		}
	}
	changed := false
	for _, it := range r.GetItems() {
		if !full[it.GetKind()] {
			continue
		}
		k := itemDigestKey(it.GetKind(), it.GetKey())
		if old, ok := prev.items.get(k); fresh || !ok || old != now[k] {
			out.Items = append(out.Items, it)
			changed = true
		}
	}
	for i := range prev.items.len() {
		k := prev.items.key(i)
		kind, key, _ := strings.Cut(k, "\x00")
		if !full[kind] {
			now[k] = prev.items.hashes[i] // not collected this time: unchanged
			continue
		}
		if _, ok := now[k]; !ok && !fresh {
			out.RemovedItems = append(out.RemovedItems, &agentpb.ItemKey{Kind: kind, Key: key})
			changed = true
		}
	}
	// prev.items is in key order, kind first: so are the removals.
	es := make([]digest, 0, len(now))
	for _, k := range slices.Sorted(maps.Keys(now)) {
		es = append(es, digest{k, now[k]})
	}
	prev.items = makeDigests(es)
	return changed
}
