package agent

import (
	"bytes"
	"hash/maphash"
	"maps"
	"slices"

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
	packages map[string]uint64    // package ID → hash of its record
	items    map[itemKey]uint64   // → hash of its data
}

type itemKey struct{ kind, key string }

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
			prev = &sentAsset{packages: map[string]uint64{}, items: map[itemKey]uint64{}}
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
	now := make(map[string]uint64, len(byID))
	changed := false
	for _, id := range slices.Sorted(maps.Keys(byID)) {
		p := byID[id]
		h := t.packageHash(p)
		now[id] = h
		if old, ok := prev.packages[id]; !ok || old != h || out.PackagesFull {
			out.Packages = append(out.Packages, p)
			changed = true
		}
	}
	if !out.PackagesFull {
		for _, id := range slices.Sorted(maps.Keys(prev.packages)) {
			if _, ok := now[id]; !ok {
				out.RemovedPackages = append(out.RemovedPackages, id)
				changed = true
			}
		}
	}
	prev.packages = now
	return changed
}

// diffItems does for items what diffPackages does for packages, for the
// kinds collected in full.
func (t *tracker) diffItems(prev *sentAsset, r *agentpb.AssetRecord, kinds []string, out *agentpb.AssetRecord) bool {
	full := map[string]bool{}
	for _, k := range kinds {
		full[k] = true
	}
	fresh := len(out.ItemKinds) > 0 // a new asset: the server replaces these kinds
	now := map[itemKey]uint64{}
	for _, it := range r.GetItems() {
		if full[it.GetKind()] {
			now[itemKey{it.GetKind(), it.GetKey()}] = maphash.Bytes(t.seed, it.GetData())
		}
	}
	changed := false
	for _, it := range r.GetItems() {
		k := itemKey{it.GetKind(), it.GetKey()}
		if !full[k.kind] {
			continue
		}
		if old, ok := prev.items[k]; fresh || !ok || old != now[k] {
			out.Items = append(out.Items, it)
			changed = true
		}
	}
	for k := range prev.items {
		if !full[k.kind] {
			now[k] = prev.items[k] // not collected this time: unchanged
			continue
		}
		if _, ok := now[k]; !ok && !fresh {
			out.RemovedItems = append(out.RemovedItems, &agentpb.ItemKey{Kind: k.kind, Key: k.key})
			changed = true
		}
	}
	slices.SortFunc(out.RemovedItems, func(a, b *agentpb.ItemKey) int {
		if c := bytes.Compare([]byte(a.Kind), []byte(b.Kind)); c != 0 {
			return c
		}
		return bytes.Compare([]byte(a.Key), []byte(b.Key))
	})
	prev.items = now
	return changed
}
