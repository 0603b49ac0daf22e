package agent

import (
	"fmt"
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/internal/agentpb"
)

// collection builds a host with packages (id → version) and processes
// (key → data), as fresh protobuf records each time, as a collector does.
func collection(pkgs map[string]string, procs map[string]string) Collection {
	r := &agentpb.AssetRecord{Id: "host", Kind: "host", Name: "web-1"}
	for _, id := range slices.Sorted(func(yield func(string) bool) {
		for k := range pkgs {
			if !yield(k) {
				return
			}
		}
	}) {
		r.Packages = append(r.Packages, &agentpb.Package{Id: id, Name: id, Version: pkgs[id], Data: []byte(fmt.Sprintf(`{"v":%q}`, pkgs[id]))})
	}
	for k, d := range procs {
		r.Items = append(r.Items, &agentpb.Item{Kind: "process", Key: k, Data: []byte(d)})
	}
	return Collection{Assets: []CollectedAsset{{Record: r, HasPackages: pkgs != nil, ItemKinds: []string{"process"}}}}
}

func TestTrackerDeltas(t *testing.T) {
	tr := newTracker()
	pkgs := map[string]string{"a": "1", "b": "1", "c": "1"}
	procs := map[string]string{"1": `{"cmd":"init"}`, "2": `{"cmd":"sshd"}`}
	first := tr.delta(collection(pkgs, procs))
	if first == nil || !first.Assets[0].PackagesFull || len(first.Assets[0].Packages) != 3 || len(first.Assets[0].Items) != 2 {
		t.Fatalf("first delta %v, want the full host", first)
	}
	if d := tr.delta(collection(pkgs, procs)); d != nil {
		t.Fatalf("unchanged collection gave %v", d)
	}
	// One upgrade, one removal, one process changed and one gone.
	pkgs = map[string]string{"a": "1", "b": "2"}
	procs = map[string]string{"1": `{"cmd":"systemd"}`}
	d := tr.delta(collection(pkgs, procs))
	if d == nil {
		t.Fatal("no delta for changes")
	}
	h := d.Assets[0]
	if h.PackagesFull || len(h.Packages) != 1 || h.Packages[0].GetId() != "b" || !slices.Equal(h.RemovedPackages, []string{"c"}) {
		t.Errorf("packages delta: full %v upsert %v removed %v", h.PackagesFull, h.Packages, h.RemovedPackages)
	}
	if len(h.Items) != 1 || h.Items[0].GetKey() != "1" || len(h.RemovedItems) != 1 || h.RemovedItems[0].GetKey() != "2" {
		t.Errorf("items delta: upsert %v removed %v", h.Items, h.RemovedItems)
	}
	// A light collection (no packages) keeps what was sent.
	if d := tr.delta(collection(nil, procs)); d != nil {
		t.Errorf("light collection of an unchanged host gave %v", d)
	}
	if d := tr.delta(collection(pkgs, procs)); d != nil {
		t.Errorf("packages after a light collection gave %v", d)
	}
}

func TestDigests(t *testing.T) {
	var empty digests
	if _, ok := empty.get(""); ok || empty.len() != 0 {
		t.Fatal("empty digests found a key")
	}
	es := []digest{{"", 1}, {"a", 2}, {"a\x00b", 3}, {"ab", 4}, {"b", 5}}
	d := makeDigests(es)
	for _, e := range es {
		if h, ok := d.get(e.key); !ok || h != e.hash {
			t.Errorf("get(%q) = %d, %v; want %d", e.key, h, ok, e.hash)
		}
	}
	for _, k := range []string{"a\x00", "aa", "c", "\x00"} {
		if _, ok := d.get(k); ok {
			t.Errorf("get(%q) found a key not in the set", k)
		}
	}
	for i, e := range es {
		if d.key(i) != e.key {
			t.Errorf("key(%d) = %q, want %q", i, d.key(i), e.key)
		}
	}
	// One string for every key: none of the callers' strings is kept.
	if d.keys != "aa\x00babb" {
		t.Errorf("keys %q", d.keys)
	}
}
