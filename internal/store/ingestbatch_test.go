package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestIngestBatch: one transaction for many agents' messages, each
// deduplicated on (agent, seq) as Ingest does, a failing message rolled
// back alone.
func TestIngestBatch(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		newAgent(t, db, "a1")
		newAgent(t, db, "a2")
		event := func(agent string, seq uint64) IngestMessage {
			return IngestMessage{AgentID: agent, Seq: seq, Apply: func(in Ingester) error {
				return in.AddEvents(ctx, []Event{{AgentID: agent, Seq: seq, Time: at(time.Duration(seq) * time.Second), Kind: "process.exec",
					Data: json.RawMessage(fmt.Sprintf(`{"seq":%d}`, seq))}})
			}}
		}
		boom := errors.New("boom")
		failing := IngestMessage{AgentID: "a2", Seq: 3, Apply: func(in Ingester) error {
			if err := in.AddEvents(ctx, []Event{{AgentID: "a2", Seq: 3, Kind: "kept.never"}}); err != nil {
				return err
			}
			return boom
		}}
		res, err := db.IngestBatch(ctx, []IngestMessage{
			event("a1", 1), event("a2", 1), event("a1", 2), event("a1", 2), // a replay inside the batch
			event("a2", 2), failing, event("nobody", 1), event("a1", 1), // a replay of the batch's own first message
			event("a2", 4), // after a2's failure: not applied
		})
		must(t, err)
		want := []IngestResult{{}, {}, {}, {Duplicate: true}, {}, {Err: boom}, {Err: ErrNotFound}, {Duplicate: true}, {Err: ErrEarlierFailed}}
		if len(res) != len(want) {
			t.Fatalf("%d results, want %d", len(res), len(want))
		}
		for i := range want {
			if res[i].Duplicate != want[i].Duplicate || (want[i].Err == nil) != (res[i].Err == nil) ||
				(want[i].Err != nil && !errors.Is(res[i].Err, want[i].Err)) {
				t.Errorf("result %d = %+v, want %+v", i, res[i], want[i])
			}
		}
		for id, seq := range map[string]uint64{"a1": 2, "a2": 2} {
			a, err := db.Agent(ctx, id)
			must(t, err)
			if a.LastSeq != seq {
				t.Errorf("%s LastSeq %d, want %d", id, a.LastSeq, seq)
			}
		}
		ev, err := db.ListEvents(ctx, ListOptions{})
		must(t, err)
		if len(ev.Items) != 4 {
			t.Errorf("%d events, want 4 (the failing message's rolled back): %+v", len(ev.Items), ev.Items)
		}
		// The next batch continues from the committed LastSeq; the failed
		// seq can be sent again.
		res, err = db.IngestBatch(ctx, []IngestMessage{event("a2", 2), event("a2", 3)})
		must(t, err)
		if !res[0].Duplicate || res[1].Duplicate || res[1].Err != nil {
			t.Errorf("second batch %+v", res)
		}
		if a, _ := db.Agent(ctx, "a2"); a.LastSeq != 3 {
			t.Errorf("a2 LastSeq %d, want 3", a.LastSeq)
		}
		if res, err := db.IngestBatch(ctx, nil); err != nil || len(res) != 0 {
			t.Errorf("empty batch: %v %v", res, err)
		}
	})
}

// TestIngestBatchFailures: more failing messages than the savepoint-free
// attempts allow still leave every good message committed once, and each
// failing one reported with nothing of it kept.
func TestIngestBatchFailures(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		var msgs []IngestMessage
		applied := map[string]int{}
		for i := range 6 {
			id := fmt.Sprintf("f%d", i)
			newAgent(t, db, id)
			fail := i%2 == 0
			msgs = append(msgs, IngestMessage{AgentID: id, Seq: 1, Apply: func(in Ingester) error {
				applied[id]++
				if err := in.AddEvents(ctx, []Event{{AgentID: id, Seq: 1, Kind: "k"}}); err != nil {
					return err
				}
				if fail {
					return errors.New("bad message")
				}
				return nil
			}})
		}
		res, err := db.IngestBatch(ctx, msgs)
		must(t, err)
		for i, r := range res {
			if (r.Err != nil) != (i%2 == 0) {
				t.Errorf("result %d = %+v", i, r)
			}
		}
		ev, err := db.ListEvents(ctx, ListOptions{})
		must(t, err)
		if len(ev.Items) != 3 {
			t.Errorf("%d events, want the 3 good messages' only", len(ev.Items))
		}
		for i := range 6 {
			id := fmt.Sprintf("f%d", i)
			a, err := db.Agent(ctx, id)
			must(t, err)
			if want := uint64(i % 2); a.LastSeq != want {
				t.Errorf("%s LastSeq %d, want %d", id, a.LastSeq, want)
			}
		}
		t.Logf("Apply calls per agent: %v", applied)
	})
}

func TestAgentsSeen(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		newAgent(t, db, "a1")
		newAgent(t, db, "a2")
		must(t, db.AgentHeartbeat(ctx, "a2", at(time.Hour), json.RawMessage(`{"spooled":1}`)))
		_, err := db.SilentAgents(ctx, at(1000*time.Hour))
		must(t, err)
		must(t, db.AgentsSeen(ctx, []AgentSeen{
			{ID: "a2", At: at(time.Minute)}, // older than stored: LastSeen kept, stats kept
			{ID: "a1", At: at(2 * time.Hour), Stats: json.RawMessage(`{"dropped":2}`)},
			{ID: "unknown", At: at(time.Hour)},
		}))
		a1, err := db.Agent(ctx, "a1")
		must(t, err)
		if !a1.LastSeen.Equal(at(2*time.Hour)) || a1.Silent || string(a1.Stats) != `{"dropped":2}` && string(a1.Stats) != `{"dropped": 2}` {
			t.Errorf("a1 = seen %v silent %v stats %s", a1.LastSeen, a1.Silent, a1.Stats)
		}
		a2, err := db.Agent(ctx, "a2")
		must(t, err)
		if !a2.LastSeen.Equal(at(time.Hour)) || a2.Silent || len(a2.Stats) == 0 {
			t.Errorf("a2 = seen %v silent %v stats %s", a2.LastSeen, a2.Silent, a2.Stats)
		}
		wantErr(t, "bad stats", db.AgentsSeen(ctx, []AgentSeen{{ID: "a1", At: t0, Stats: json.RawMessage(`{`)}}), ErrInvalid)
	})
}

// TestUpsertAssetUnchanged: re-upserting an unchanged asset (the fast
// path that writes only last_seen) and then a changed or gone one keep
// UpsertAsset's contract.
func TestUpsertAssetUnchanged(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		newAgent(t, db, "a1")
		a := Asset{ID: "h1", Kind: AssetHost, Name: "web-1", AgentID: "a1", OS: "debian 12", Labels: map[string]string{"env": "prod"},
			Attrs: json.RawMessage(`{"kernel":"6.1"}`), FirstSeen: at(0), LastSeen: at(0)}
		seq := uint64(0)
		upsert := func(a Asset, gone ...string) {
			seq++
			ingestAt(t, db, "a1", seq, func(in Ingester) error {
				if err := in.UpsertAsset(ctx, a); err != nil {
					return err
				}
				if len(gone) > 0 {
					return in.MarkGone(ctx, "a1", AssetHost, nil)
				}
				return nil
			})
		}
		check := func(what string, want Asset, gone bool) {
			t.Helper()
			got, err := db.Asset(ctx, "h1")
			must(t, err)
			if !got.FirstSeen.Equal(at(0)) || !got.LastSeen.Equal(want.LastSeen) || got.Gone != gone ||
				got.Labels["env"] != want.Labels["env"] || got.OS != want.OS {
				t.Errorf("%s: %+v", what, got)
			}
		}
		upsert(a)
		a.LastSeen = at(time.Minute)
		upsert(a)
		check("unchanged", a, false)
		a.LastSeen, a.Labels, a.OS = at(2*time.Minute), map[string]string{"env": "dev"}, "debian 13"
		upsert(a)
		check("changed", a, false)
		a.LastSeen = at(3 * time.Minute)
		upsert(a, "gone")
		check("gone", a, true)
		a.LastSeen = at(4 * time.Minute)
		upsert(a)
		check("back", a, false)
	})
}
