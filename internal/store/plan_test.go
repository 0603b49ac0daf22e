package store

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// explain returns SQLite's query plan of a statement, one line per step.
func explain(t *testing.T, db *DB, query string, args ...any) string {
	t.Helper()
	rows, err := db.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	must(t, err)
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		must(t, rows.Scan(&id, &parent, &unused, &detail))
		lines = append(lines, detail)
	}
	must(t, rows.Err())
	return strings.Join(lines, "\n")
}

// seedAssets makes agents × (1 host, 5 containers, 4 images).
func seedAssets(t *testing.T, db *DB, agents int) {
	t.Helper()
	oses := []string{"debian 12", "ubuntu 22.04", "rhel 9", "alpine 3.20", "amazon 2023"}
	regions := []string{"eu-west-1", "us-east-1", "ap-south-1", "eu-central-1"}
	clouds := []string{"aws", "gcp", "azure", "on-prem"}
	var msgs []IngestMessage
	for i := range agents {
		id := fmt.Sprintf("agt-%04d", i)
		newAgent(t, db, id)
		msgs = append(msgs, IngestMessage{AgentID: id, Seq: 1, Apply: func(in Ingester) error {
			host := "host-" + id
			seen := at(time.Duration(i) * time.Second)
			a := Asset{ID: host, Kind: AssetHost, Name: id + ".example", AgentID: id, OS: oses[i%len(oses)],
				Region: regions[i%len(regions)], Cloud: clouds[i%len(clouds)],
				Labels:    map[string]string{"env": []string{"prod", "dev"}[i%2], "team": fmt.Sprintf("t%d", i%20)},
				FirstSeen: seen, LastSeen: seen, Risk: float64(i % 100)}
			if err := in.UpsertAsset(ctx, a); err != nil {
				return err
			}
			for j := range 9 {
				kind := AssetContainer
				if j >= 5 {
					kind = AssetImage
				}
				c := a
				c.ID, c.Kind, c.Name = fmt.Sprintf("%s-%d", kind, i*10+j), kind, fmt.Sprintf("%s-%d", kind, i*10+j)
				if kind == AssetContainer {
					c.ParentID = host
				}
				if err := in.UpsertAsset(ctx, c); err != nil {
					return err
				}
			}
			return nil
		}})
	}
	res, err := db.IngestBatch(ctx, msgs)
	must(t, err)
	for _, r := range res {
		must(t, r.Err)
	}
}

// TestAssetListPlans: the asset lists the API serves (the shapes of
// bench/BACKBONE.md's API load) read an index led by their filter, never
// the whole assets table, with the statistics a fresh store has and with
// full statistics.
func TestAssetListPlans(t *testing.T) {
	db := openTest(t, dialectSQLite)
	seedAssets(t, db, 300)
	shapes := []struct {
		name string
		o    ListOptions
		// index is the index the plan must search ("" for any).
		index string
	}{
		{"first page by name", ListOptions{}, "assets_name"},
		{"hosts by last_seen desc", ListOptions{Filter: map[string]string{"kind": "host"}, Sort: "last_seen", Desc: true}, "assets_kind_last_seen"},
		{"containers by first_seen", ListOptions{Filter: map[string]string{"kind": "container"}, Sort: "first_seen", Limit: 200}, "assets_kind_first_seen"},
		{"images by risk desc", ListOptions{Filter: map[string]string{"kind": "image"}, Sort: "risk", Desc: true}, "assets_kind_risk"},
		{"one host's containers", ListOptions{Filter: map[string]string{"parent_id": "host-agt-0007"}}, "assets_parent"},
		{"one agent's assets", ListOptions{Filter: map[string]string{"agent_id": "agt-0007"}}, ""},
		{"os + region", ListOptions{Filter: map[string]string{"os": "debian 12", "region": "eu-west-1"}}, ""},
		{"os + region by last_seen", ListOptions{Filter: map[string]string{"os": "debian 12", "region": "eu-west-1"}, Sort: "last_seen", Desc: true}, ""},
		{"cloud and kind", ListOptions{Filter: map[string]string{"cloud": "aws", "kind": "host"}}, ""},
		{"risk desc", ListOptions{Sort: "risk", Desc: true}, "assets_risk"},
		{"label by risk desc", ListOptions{Filter: map[string]string{"label": "env=prod"}, Sort: "risk", Desc: true}, ""},
		{"rare label", ListOptions{Filter: map[string]string{"label": "team=t7"}}, ""},
		{"name substring", ListOptions{Filter: map[string]string{"name": "agt-00"}}, "assets_name"},
	}
	check := func(t *testing.T) {
		for _, s := range shapes {
			lq, err := buildList(db, assetsList, s.o, assetsQuery, assetsWhere(db, s.o))
			must(t, err)
			plan := explain(t, db, lq.sql, lq.args...)
			t.Logf("%s: %s", s.name, strings.ReplaceAll(plan, "\n", "; "))
			for _, line := range strings.Split(plan, "\n") {
				if strings.HasPrefix(line, "SCAN assets") && !strings.Contains(line, "USING") {
					t.Errorf("%s: scans the assets table:\n%s", s.name, plan)
				}
			}
			if strings.Contains(s.name, "label") && !strings.Contains(plan, "asset_labels") {
				t.Errorf("%s: label filter does not read asset_labels:\n%s", s.name, plan)
			}
			if !strings.Contains(plan, "SEARCH assets USING") {
				t.Errorf("%s: no index search:\n%s", s.name, plan)
			}
			if s.index != "" && !strings.Contains(plan, "INDEX "+s.index+" ") {
				t.Errorf("%s: plan does not use %s:\n%s", s.name, s.index, plan)
			}
			if s.index != "" && strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("%s: sorts instead of reading the index in order:\n%s", s.name, plan)
			}
			// The query runs, too.
			if _, err := db.ListAssets(ctx, s.o); err != nil {
				t.Errorf("%s: %v", s.name, err)
			}
		}
	}
	t.Run("fresh statistics", check)
	must(t, db.analyze(ctx))
	t.Run("full statistics", check)
}

// TestFindingPlans: the overview's open counts read the partial index
// findings_open_counts.
func TestFindingPlans(t *testing.T) {
	db := openTest(t, dialectSQLite)
	plan := explain(t, db, `SELECT kind, severity, COUNT(*) FROM findings INDEXED BY findings_open_counts
		WHERE status IN ('new', 'open', 'reopened') GROUP BY kind, severity`)
	if !strings.Contains(plan, "findings_open_counts") || strings.Contains(plan, "TEMP B-TREE") {
		t.Errorf("open counts plan:\n%s", plan)
	}
	// And the store's query is that one.
	if _, err := db.Overview(ctx, t0, 30); err != nil {
		t.Fatal(err)
	}
}

// TestAssetLabelFilterFollowsUpdates: the label filter sees an asset's
// current labels (SQLite keeps asset_labels by triggers).
func TestAssetLabelFilterFollowsUpdates(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		newAgent(t, db, "a1")
		find := func(label string) int {
			p, err := db.ListAssets(ctx, ListOptions{Filter: map[string]string{"label": label}})
			must(t, err)
			return len(p.Items)
		}
		for i, labels := range []map[string]string{{"env": "prod", "team": "a"}, {"env": "dev"}, nil, {"env": "prod"}} {
			ingestAt(t, db, "a1", uint64(i+1), func(in Ingester) error {
				return in.UpsertAsset(ctx, Asset{ID: "h1", Kind: AssetHost, Name: "h1", AgentID: "a1", Labels: labels})
			})
			for _, l := range []string{"env=prod", "env=dev", "team=a"} {
				k, v, _ := strings.Cut(l, "=")
				want := 0
				if labels[k] == v {
					want = 1
				}
				if got := find(l); got != want {
					t.Errorf("labels %v: filter %s found %d, want %d", labels, l, got, want)
				}
			}
		}
	})
}

func ingestAt(t *testing.T, db *DB, agent string, seq uint64, fn func(Ingester) error) {
	t.Helper()
	dup, err := db.Ingest(ctx, agent, seq, fn)
	must(t, err)
	if dup {
		t.Fatalf("seq %d a duplicate", seq)
	}
}

// TestIngestPlans: the statements every agent message runs read one
// agent's or one asset's rows through an index, never a range that grows
// with the fleet (MarkGone once read every live asset of a kind).
func TestIngestPlans(t *testing.T) {
	db := openTest(t, dialectSQLite)
	seedAssets(t, db, 300)
	stmts := []struct {
		name, sql string
		args      []any
		// index is the index the plan must search ("" for any).
		index string
	}{
		{"MarkGone's live assets", liveAssetsQuery, []any{"agt-0007", AssetContainer}, "COVERING INDEX assets_agent "},
		{"asset exists", assetExistsQuery, []any{"host-agt-0007"}, ""},
		{"stored packages", `SELECT id, name, version, ecosystem, purl, data FROM packages WHERE asset_id = ?`, []any{"host-agt-0007"}, ""},
		{"delete packages", `DELETE FROM packages WHERE asset_id = ? AND id IN (?, ?)`, []any{"host-agt-0007", "p1", "p2"}, ""},
		{"delete items of kinds", `DELETE FROM items WHERE asset_id = ? AND kind IN (?)`, []any{"host-agt-0007", "process"}, ""},
		{"delete items", `DELETE FROM items WHERE asset_id = ? AND kind = ? AND key IN (?)`, []any{"host-agt-0007", "process", "1"}, ""},
	}
	check := func(t *testing.T) {
		for _, s := range stmts {
			plan := explain(t, db, s.sql, s.args...)
			t.Logf("%s: %s", s.name, strings.ReplaceAll(plan, "\n", "; "))
			for _, line := range strings.Split(plan, "\n") {
				if strings.HasPrefix(line, "SCAN ") {
					t.Errorf("%s: scans:\n%s", s.name, plan)
				}
			}
			if !strings.Contains(plan, "SEARCH ") {
				t.Errorf("%s: no index search:\n%s", s.name, plan)
			}
			if s.index != "" && !strings.Contains(plan, s.index) {
				t.Errorf("%s: plan does not use %s:\n%s", s.name, s.index, plan)
			}
		}
	}
	t.Run("fresh statistics", check)
	must(t, db.analyze(ctx))
	t.Run("full statistics", check)
}
