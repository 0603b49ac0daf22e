package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestIngestDuplicatesAndRollback(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		newAgent(t, db, "a1")
		host := Asset{ID: "h1", Kind: AssetHost, Name: "web-1", AgentID: "a1", LastSeen: t0}

		dup, err := db.Ingest(ctx, "a1", 1, func(in Ingester) error { return in.UpsertAsset(ctx, host) })
		must(t, err)
		if dup {
			t.Fatal("first message taken for a duplicate")
		}
		ran := false
		for _, seq := range []uint64{0, 1} {
			dup, err = db.Ingest(ctx, "a1", seq, func(in Ingester) error { ran = true; return nil })
			must(t, err)
			if !dup || ran {
				t.Errorf("seq %d after 1: duplicate %v, fn ran %v; want a duplicate that does not run", seq, dup, ran)
			}
		}

		// A failing message writes nothing and leaves LastSeq alone.
		boom := errors.New("boom")
		_, err = db.Ingest(ctx, "a1", 2, func(in Ingester) error {
			if err := in.UpsertAsset(ctx, Asset{ID: "h2", Kind: AssetHost, AgentID: "a1"}); err != nil {
				return err
			}
			if err := in.ReplacePackages(ctx, "h1", []Package{{ID: "p1", Name: "openssl"}}); err != nil {
				return err
			}
			if err := in.AddEvents(ctx, []Event{{Kind: "process.exec", AgentID: "a1"}}); err != nil {
				return err
			}
			if err := in.TouchAgent(ctx, "a1", at(time.Hour), "9.9.9", ""); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Ingest returned %v, want fn's error", err)
		}
		a, err := db.Agent(ctx, "a1")
		must(t, err)
		if a.LastSeq != 1 || a.Version != "1.0.0" {
			t.Errorf("after a failed message: LastSeq %d, Version %s; want 1, 1.0.0", a.LastSeq, a.Version)
		}
		if _, err := db.Asset(ctx, "h2"); !errors.Is(err, ErrNotFound) {
			t.Errorf("asset of a failed message: %v", err)
		}
		if pk, _ := db.AssetPackages(ctx, "h1"); len(pk) != 0 {
			t.Errorf("packages of a failed message: %v", pk)
		}
		if ev, _ := db.ListEvents(ctx, ListOptions{}); len(ev.Items) != 0 {
			t.Errorf("events of a failed message: %v", ev.Items)
		}

		// The same seq then succeeds; seqs may skip.
		dup, err = db.Ingest(ctx, "a1", 2, func(in Ingester) error { return nil })
		must(t, err)
		dup2, err := db.Ingest(ctx, "a1", 10, func(in Ingester) error { return nil })
		must(t, err)
		a, _ = db.Agent(ctx, "a1")
		if dup || dup2 || a.LastSeq != 10 {
			t.Errorf("seq 2 and 10: duplicates %v %v, LastSeq %d; want false false 10", dup, dup2, a.LastSeq)
		}
		_, err = db.Ingest(ctx, "nope", 1, func(in Ingester) error { return nil })
		wantErr(t, "unknown agent", err, ErrNotFound)
		_, err = db.Ingest(ctx, "a1", 1<<63, func(in Ingester) error { return nil })
		wantErr(t, "seq out of range", err, ErrInvalid)
	})
}

// TestIngestConcurrent has agents ingest at the same time (SQLite must
// queue writers, never fail with SQLITE_BUSY) and replays race the
// original.
func TestIngestConcurrent(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		const agents, msgs = 8, 15
		for i := range agents {
			id := fmt.Sprintf("a%d", i)
			newAgent(t, db, id)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		dups := 0
		for i := range agents {
			id := fmt.Sprintf("a%d", i)
			for rep := range 2 { // every message is sent twice at once
				wg.Add(1)
				go func() {
					defer wg.Done()
					for seq := uint64(1); seq <= msgs; seq++ {
						dup, err := db.Ingest(ctx, id, seq, func(in Ingester) error {
							host := Asset{ID: "h-" + id, Kind: AssetHost, Name: id, AgentID: id, LastSeen: at(time.Duration(seq) * time.Second)}
							if err := in.UpsertAsset(ctx, host); err != nil {
								return err
							}
							pkgs := make([]Package, 50)
							for j := range pkgs {
								pkgs[j] = Package{ID: fmt.Sprintf("p%d", j), Name: fmt.Sprintf("pkg%d", j), Version: fmt.Sprint(seq)}
							}
							if err := in.ReplacePackages(ctx, host.ID, pkgs); err != nil {
								return err
							}
							return in.AddEvents(ctx, []Event{{AgentID: id, Seq: seq, Kind: "heartbeat", Data: json.RawMessage(fmt.Sprintf(`{"rep":%d}`, rep))}})
						})
						if err != nil {
							t.Errorf("Ingest %s %d: %v", id, seq, err)
							return
						}
						if dup {
							mu.Lock()
							dups++
							mu.Unlock()
						}
					}
				}()
			}
		}
		wg.Wait()
		if dups != agents*msgs {
			t.Errorf("%d duplicates, want %d (one of each pair)", dups, agents*msgs)
		}
		ev, err := db.ListEvents(ctx, ListOptions{Limit: 1000})
		must(t, err)
		if len(ev.Items) != agents*msgs {
			t.Errorf("%d events, want %d", len(ev.Items), agents*msgs)
		}
		for i := range agents {
			a, err := db.Agent(ctx, fmt.Sprintf("a%d", i))
			must(t, err)
			if a.LastSeq != msgs {
				t.Errorf("%s LastSeq %d, want %d", a.ID, a.LastSeq, msgs)
			}
			pk, err := db.AssetPackages(ctx, "h-"+a.ID)
			must(t, err)
			if len(pk) != 50 || pk[0].Version != fmt.Sprint(msgs) {
				t.Errorf("%s: %d packages of version %s", a.ID, len(pk), pk[0].Version)
			}
		}
	})
}

func TestIngestAssets(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		newAgent(t, db, "a1")
		host := Asset{ID: "h1", Kind: AssetHost, Name: "web-1", AgentID: "a1", OS: "debian 12", Platform: "linux/amd64",
			Cloud: "aws", Region: "eu-west-1", Labels: map[string]string{"env": "prod"}, Attrs: json.RawMessage(`{"kernel":"6.1"}`),
			FirstSeen: t0, LastSeen: t0}
		c1 := Asset{ID: "c1", Kind: AssetContainer, Name: "nginx", AgentID: "a1", ParentID: "h1", LastSeen: t0}
		c2 := Asset{ID: "c2", Kind: AssetContainer, Name: "redis", AgentID: "a1", ParentID: "h1", LastSeen: t0}
		ingest(t, db, "a1", func(in Ingester) error {
			for _, a := range []Asset{host, c1, c2} {
				if err := in.UpsertAsset(ctx, a); err != nil {
					return err
				}
			}
			return nil
		})
		got, err := db.Asset(ctx, "h1")
		must(t, err)
		if diff := cmp.Diff(host, got, cmp.Comparer(jsonEqual)); diff != "" {
			t.Errorf("Asset (-upserted +read):\n%s", diff)
		}
		must(t, db.SetAssetRisk(ctx, "h1", 7.5))
		wantErr(t, "SetAssetRisk unknown", db.SetAssetRisk(ctx, "nope", 1), ErrNotFound)

		// c2 disappears; the host is seen again with new facts.
		host2 := host
		host2.FirstSeen, host2.LastSeen, host2.OS = at(time.Hour), at(time.Hour), "debian 13"
		ingest(t, db, "a1", func(in Ingester) error {
			if err := in.UpsertAsset(ctx, host2); err != nil {
				return err
			}
			return in.MarkGone(ctx, "a1", AssetContainer, []string{"c1"})
		})
		got, _ = db.Asset(ctx, "h1")
		if !got.FirstSeen.Equal(t0) || !got.LastSeen.Equal(at(time.Hour)) || got.OS != "debian 13" || got.Risk != 7.5 {
			t.Errorf("after re-upsert: first %v last %v os %q risk %v; want FirstSeen and Risk kept", got.FirstSeen, got.LastSeen, got.OS, got.Risk)
		}
		for id, want := range map[string]bool{"h1": false, "c1": false, "c2": true} {
			a, err := db.Asset(ctx, id)
			must(t, err)
			if a.Gone != want {
				t.Errorf("%s Gone = %v, want %v", id, a.Gone, want)
			}
		}
		// Coming back clears Gone.
		ingest(t, db, "a1", func(in Ingester) error { return in.UpsertAsset(ctx, c2) })
		if a, _ := db.Asset(ctx, "c2"); a.Gone {
			t.Error("re-upserted asset still gone")
		}
		ingest(t, db, "a1", func(in Ingester) error { return in.MarkGone(ctx, "a1", AssetContainer, nil) })
		if a, _ := db.Asset(ctx, "c1"); !a.Gone {
			t.Error("MarkGone with nothing kept left c1")
		}
		if a, _ := db.Asset(ctx, "h1"); a.Gone {
			t.Error("MarkGone of containers marked the host")
		}

		_, err = db.Ingest(ctx, "a1", 100, func(in Ingester) error { return in.UpsertAsset(ctx, Asset{ID: "x"}) })
		wantErr(t, "asset without kind", err, ErrInvalid)
		_, err = db.Ingest(ctx, "a1", 100, func(in Ingester) error {
			return in.UpsertAsset(ctx, Asset{ID: "x", Kind: AssetHost, Attrs: json.RawMessage("nope")})
		})
		wantErr(t, "asset with bad attrs", err, ErrInvalid)

		// TouchAgent.
		ingest(t, db, "a1", func(in Ingester) error { return in.TouchAgent(ctx, "a1", at(2*time.Hour), "2.0.0", "") })
		a, _ := db.Agent(ctx, "a1")
		if !a.LastSeen.Equal(at(2*time.Hour)) || a.Version != "2.0.0" || a.Hostname != "a1.example" {
			t.Errorf("after TouchAgent: %v %s %s", a.LastSeen, a.Version, a.Hostname)
		}
		ingest(t, db, "a1", func(in Ingester) error { return in.TouchAgent(ctx, "a1", at(3*time.Hour), "", "renamed") })
		a, _ = db.Agent(ctx, "a1")
		if a.Version != "2.0.0" || a.Hostname != "renamed" {
			t.Errorf("after TouchAgent: %s %s", a.Version, a.Hostname)
		}
		_, err = db.Ingest(ctx, "a1", 100, func(in Ingester) error { return in.TouchAgent(ctx, "nope", t0, "", "") })
		wantErr(t, "TouchAgent unknown", err, ErrNotFound)
	})
}

func TestIngestPackagesAndItems(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		newAgent(t, db, "a1")
		newAsset(t, db, "a1", Asset{ID: "h1", Kind: AssetHost, Name: "web-1"})
		newAsset(t, db, "a1", Asset{ID: "h2", Kind: AssetHost, Name: "web-2"})
		pk := func(id, name, version, eco string) Package {
			return Package{ID: id, Name: name, Version: version, Ecosystem: eco, PURL: "pkg:" + eco + "/" + name + "@" + version,
				Data: json.RawMessage(fmt.Sprintf(`{"name":%q,"version":%q}`, name, version))}
		}
		ingest(t, db, "a1", func(in Ingester) error {
			if err := in.ReplacePackages(ctx, "h1", []Package{
				pk("p1", "openssl", "3.0.1", "Debian"), pk("p2", "curl", "7.88", "Debian"), pk("p3", "requests", "2.31", "PyPI"),
				pk("p1", "openssl", "3.0.2", "Debian"), // the last of an ID wins
			}); err != nil {
				return err
			}
			return in.ReplacePackages(ctx, "h2", []Package{pk("p1", "openssl", "3.0.1", "Debian")})
		})
		names := func(ps []Package) []string {
			var out []string
			for _, p := range ps {
				out = append(out, p.AssetID+"/"+p.Name+"@"+p.Version)
			}
			return out
		}
		got, err := db.AssetPackages(ctx, "h1")
		must(t, err)
		if want := []string{"h1/curl@7.88", "h1/openssl@3.0.2", "h1/requests@2.31"}; !cmp.Equal(names(got), want) {
			t.Errorf("AssetPackages = %v, want %v", names(got), want)
		}
		if !jsonEqual(got[1].Data, pk("p1", "openssl", "3.0.2", "").Data) || got[1].PURL != "pkg:Debian/openssl@3.0.2" {
			t.Errorf("package read back as %+v", got[1])
		}

		ingest(t, db, "a1", func(in Ingester) error {
			return in.PatchPackages(ctx, "h1", []Package{pk("p2", "curl", "8.0", "Debian"), pk("p4", "zlib", "1.3", "Debian")}, []string{"p3", "p-none"})
		})
		got, _ = db.AssetPackages(ctx, "h1")
		if want := []string{"h1/curl@8.0", "h1/openssl@3.0.2", "h1/zlib@1.3"}; !cmp.Equal(names(got), want) {
			t.Errorf("after PatchPackages = %v, want %v", names(got), want)
		}

		ids, err := db.AssetIDs(ctx)
		must(t, err)
		if !cmp.Equal(ids, []string{"h1", "h2"}) {
			t.Errorf("AssetIDs = %v", ids)
		}
		ingest(t, db, "a1", func(in Ingester) error { return in.ReplacePackages(ctx, "h2", nil) })
		ids, _ = db.AssetIDs(ctx)
		if !cmp.Equal(ids, []string{"h1"}) {
			t.Errorf("AssetIDs after emptying h2 = %v", ids)
		}

		list := func(o ListOptions) []string {
			t.Helper()
			p, err := db.ListPackages(ctx, o)
			must(t, err)
			for _, x := range p.Items {
				if x.Data != nil {
					t.Errorf("ListPackages returned Data")
				}
			}
			return names(p.Items)
		}
		ingest(t, db, "a1", func(in Ingester) error {
			return in.ReplacePackages(ctx, "h2", []Package{pk("p1", "openssl", "3.0.1", "Debian")})
		})
		for _, tc := range []struct {
			o    ListOptions
			want []string
		}{
			{ListOptions{}, []string{"h1/curl@8.0", "h1/openssl@3.0.2", "h2/openssl@3.0.1", "h1/zlib@1.3"}},
			{ListOptions{Desc: true}, []string{"h1/zlib@1.3", "h2/openssl@3.0.1", "h1/openssl@3.0.2", "h1/curl@8.0"}},
			{ListOptions{Filter: map[string]string{"asset_id": "h1"}}, []string{"h1/curl@8.0", "h1/openssl@3.0.2", "h1/zlib@1.3"}},
			{ListOptions{Filter: map[string]string{"name": "openssl"}}, []string{"h1/openssl@3.0.2", "h2/openssl@3.0.1"}},
			{ListOptions{Filter: map[string]string{"ecosystem": "PyPI,npm"}}, nil},
			{ListOptions{Filter: map[string]string{"purl": "pkg:Debian/openssl@3.0.1"}}, []string{"h2/openssl@3.0.1"}},
			{ListOptions{Sort: "ecosystem", Filter: map[string]string{"asset_id": "h1"}}, []string{"h1/openssl@3.0.2", "h1/curl@8.0", "h1/zlib@1.3"}},
		} {
			if got := list(tc.o); !cmp.Equal(got, tc.want) {
				t.Errorf("ListPackages(%+v) = %v, want %v", tc.o, got, tc.want)
			}
		}

		for name, fn := range map[string]func(in Ingester) error{
			"unknown asset":   func(in Ingester) error { return in.ReplacePackages(ctx, "nope", nil) },
			"patch unknown":   func(in Ingester) error { return in.PatchPackages(ctx, "nope", nil, nil) },
			"items unknown":   func(in Ingester) error { return in.ReplaceItems(ctx, "nope", []string{"user"}, nil) },
			"patch items unk": func(in Ingester) error { return in.PatchItems(ctx, "nope", nil, nil) },
		} {
			_, err := db.Ingest(ctx, "a1", 1000, fn)
			wantErr(t, name, err, ErrNotFound)
		}
		for name, fn := range map[string]func(in Ingester) error{
			"no name": func(in Ingester) error { return in.ReplacePackages(ctx, "h1", []Package{{ID: "x"}}) },
			"other asset": func(in Ingester) error {
				return in.ReplacePackages(ctx, "h1", []Package{{ID: "x", Name: "x", AssetID: "h2"}})
			},
			"bad data": func(in Ingester) error {
				return in.ReplacePackages(ctx, "h1", []Package{{ID: "x", Name: "x", Data: json.RawMessage("{")}})
			},
			"kind not given": func(in Ingester) error {
				return in.ReplaceItems(ctx, "h1", []string{"user"}, []Item{{Kind: "group", Key: "g"}})
			},
			"item no key": func(in Ingester) error { return in.PatchItems(ctx, "h1", []Item{{Kind: "user"}}, nil) },
		} {
			_, err := db.Ingest(ctx, "a1", 1000, fn)
			wantErr(t, name, err, ErrInvalid)
		}

		// Items.
		it := func(kind, key string) Item {
			return Item{Kind: kind, Key: key, Data: json.RawMessage(fmt.Sprintf(`{"k":%q}`, key))}
		}
		ingest(t, db, "a1", func(in Ingester) error {
			if err := in.ReplaceItems(ctx, "h1", []string{"user", "group", "port"}, []Item{it("user", "root"), it("user", "alice"), it("group", "wheel"), it("port", "tcp/22")}); err != nil {
				return err
			}
			return in.ReplaceItems(ctx, "h2", []string{"user"}, []Item{it("user", "root")})
		})
		items := func(o ListOptions) []string {
			t.Helper()
			p, err := db.ListItems(ctx, o)
			must(t, err)
			var out []string
			for _, x := range p.Items {
				if !jsonEqual(x.Data, it(x.Kind, x.Key).Data) {
					t.Errorf("item %s/%s data %s", x.Kind, x.Key, x.Data)
				}
				out = append(out, x.AssetID+"/"+x.Kind+"/"+x.Key)
			}
			return out
		}
		if got, want := items(ListOptions{Filter: map[string]string{"kind": "user"}}), []string{"h1/user/alice", "h1/user/root", "h2/user/root"}; !cmp.Equal(got, want) {
			t.Errorf("ListItems users = %v, want %v", got, want)
		}
		// Replacing users and ports leaves groups; ports become empty.
		ingest(t, db, "a1", func(in Ingester) error {
			return in.ReplaceItems(ctx, "h1", []string{"user", "port"}, []Item{it("user", "bob")})
		})
		for kind, want := range map[string][]string{
			"user":  {"h1/user/bob"},
			"group": {"h1/group/wheel"},
			"port":  nil,
		} {
			if got := items(ListOptions{Filter: map[string]string{"kind": kind, "asset_id": "h1"}}); !cmp.Equal(got, want) {
				t.Errorf("h1 %s items = %v, want %v", kind, got, want)
			}
		}
		ingest(t, db, "a1", func(in Ingester) error {
			return in.PatchItems(ctx, "h1", []Item{it("user", "carol"), it("port", "tcp/443")}, []Item{{Kind: "user", Key: "bob"}, {Kind: "group", Key: "none"}})
		})
		if got, want := items(ListOptions{Filter: map[string]string{"kind": "user", "asset_id": "h1"}, Desc: true}), []string{"h1/user/carol"}; !cmp.Equal(got, want) {
			t.Errorf("after PatchItems = %v, want %v", got, want)
		}
		if got, want := items(ListOptions{Filter: map[string]string{"kind": "user", "key": "root"}}), []string{"h2/user/root"}; !cmp.Equal(got, want) {
			t.Errorf("items by key = %v, want %v", got, want)
		}
		_, err = db.ListItems(ctx, ListOptions{})
		wantErr(t, "ListItems without kind", err, ErrInvalid)
	})
}

func TestEvents(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		newAgent(t, db, "a1")
		evs := []Event{
			{AgentID: "a1", AssetID: "h1", Seq: 1, Time: at(time.Second), Kind: "process.exec", Severity: "low", Data: json.RawMessage(`{"argv":["sh"]}`)},
			{AgentID: "a1", AssetID: "c1", Seq: 1, Time: at(time.Second), Kind: "file.write", Severity: "high"},
			{AgentID: "a2", Seq: 7, Time: at(3 * time.Second), Kind: "process.exec"},
		}
		ingest(t, db, "a1", func(in Ingester) error { return in.AddEvents(ctx, evs[:2]) })
		must(t, db.AddEvents(ctx, evs[2:]))
		must(t, db.AddEvents(ctx, []Event{{Kind: "agent.silent", AgentID: "a1", Time: at(2 * time.Second)}}))
		must(t, db.AddEvents(ctx, nil))
		wantErr(t, "no kind", db.AddEvents(ctx, []Event{{AgentID: "x"}}), ErrInvalid)

		p, err := db.ListEvents(ctx, ListOptions{})
		must(t, err)
		var kinds []string
		for _, e := range p.Items {
			kinds = append(kinds, e.Kind)
		}
		if want := []string{"process.exec", "file.write", "agent.silent", "process.exec"}; !cmp.Equal(kinds, want) {
			t.Errorf("ListEvents kinds = %v, want %v", kinds, want)
		}
		e := p.Items[0]
		if e.ID == 0 || e.Seq != 1 || !e.Time.Equal(at(time.Second)) || e.AssetID != "h1" || !jsonEqual(e.Data, evs[0].Data) {
			t.Errorf("event read back as %+v", e)
		}
		for filter, want := range map[string]int{
			"agent_id=a1":                     3,
			"asset_id=c1":                     1,
			"kind=process.exec":               2,
			"kind=process.exec,file.write":    3,
			"severity=high,low":               2,
			"since=" + rfc(at(2*time.Second)): 2,
			"until=" + rfc(at(2*time.Second)): 2,
		} {
			p, err := db.ListEvents(ctx, ListOptions{Filter: parseFilter(filter)})
			must(t, err)
			if len(p.Items) != want {
				t.Errorf("ListEvents(%s): %d, want %d", filter, len(p.Items), want)
			}
		}
		p, _ = db.ListEvents(ctx, ListOptions{Desc: true, Limit: 1})
		if len(p.Items) != 1 || p.Items[0].AgentID != "a2" || p.Next == "" {
			t.Errorf("newest event page: %+v", p)
		}
	})
}

func TestMeta(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		_, err := db.Meta(ctx, "vulndb.built")
		wantErr(t, "unset", err, ErrNotFound)
		must(t, db.SetMeta(ctx, "vulndb.built", "2026-01-01"))
		must(t, db.SetMeta(ctx, "vulndb.built", "2026-02-01"))
		v, err := db.Meta(ctx, "vulndb.built")
		must(t, err)
		if v != "2026-02-01" {
			t.Errorf("Meta = %q", v)
		}
	})
}
