package store

import (
	"context"
	"fmt"
	"strings"
)

const assetCols = `id, kind, name, agent_id, parent_id, os, platform, cloud, region, labels, attrs, first_seen, last_seen, gone, risk`

func assetDests(a *Asset) []any {
	return []any{&a.ID, &a.Kind, &a.Name, &a.AgentID, &a.ParentID, &a.OS, &a.Platform, &a.Cloud, &a.Region,
		labelsDest{&a.Labels}, rawDest{&a.Attrs}, timeDest{&a.FirstSeen}, timeDest{&a.LastSeen}, &a.Gone, &a.Risk}
}

// Asset returns the asset with the id.
func (db *DB) Asset(ctx context.Context, id string) (Asset, error) {
	var a Asset
	if err := db.reader().row(ctx, assetDests(&a), `SELECT `+assetCols+` FROM assets WHERE id = ?`, id); err != nil {
		return Asset{}, fmt.Errorf("store: asset %s: %w", id, err)
	}
	return a, nil
}

var assetsList = &listDef{
	tag: "assets",
	sorts: map[string]column{
		"name":       {"name", kString},
		"last_seen":  {"last_seen", kTime},
		"first_seen": {"first_seen", kTime},
		"risk":       {"risk", kFloat},
	},
	def:  "name",
	ties: []column{{"id", kString}},
	filters: map[string]filterFn{
		"kind":      fEnum("kind"),
		"name":      fContains("name"),
		"os":        fExact("os"),
		"cloud":     fExact("cloud"),
		"region":    fExact("region"),
		"agent_id":  fExact("agent_id"),
		"parent_id": fExact("parent_id"),
		"label":     fAssetLabel,
		"environment": func(w *where, v string) error {
			return fAssetLabel(w, "environment="+v)
		},
		"gone":     fBool("gone"),
		"min_risk": fMin("risk"),
	},
}

// fAssetLabel matches "k=v" among an asset's labels: on SQLite through
// asset_labels (kept by triggers), on PostgreSQL through the GIN index of
// the labels column.
func fAssetLabel(w *where, v string) error {
	if w.db.pg() {
		return fLabel("labels")(w, v)
	}
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return invalidf("label %q (want key=value)", v)
	}
	w.add("id IN (SELECT asset_id FROM asset_labels WHERE key = ? AND value = ?)", k, val)
	return nil
}

// ListAssets lists assets. Filters: kind (enumerated), name (substring,
// ASCII case-insensitive), os, cloud, region, agent_id, parent_id (exact),
// label (k=v), environment (the label environment=…), gone ("true"/"false", false when absent), min_risk; sorts:
// name (default), last_seen, first_seen, risk.
func (db *DB) ListAssets(ctx context.Context, o ListOptions) (Page[Asset], error) {
	return list(ctx, db, assetsList, o, assetsQuery, assetsWhere(db, o))
}

var assetsQuery = query[Asset]{cols: assetCols, from: "assets", dests: assetDests}

// assetsWhere holds the conditions of ListAssets beyond its filters.
func assetsWhere(db *DB, o ListOptions) *where {
	w := &where{db: db}
	if _, ok := o.Filter["gone"]; !ok {
		w.add("gone = FALSE")
	}
	return w
}

// AssetIDs returns the IDs of every asset that is not gone and has
// packages, for re-assessment, in ID order.
func (db *DB) AssetIDs(ctx context.Context) ([]string, error) {
	rows, err := db.reader().query(ctx, `SELECT a.id FROM assets a
		WHERE a.gone = FALSE AND EXISTS (SELECT 1 FROM packages p WHERE p.asset_id = a.id) ORDER BY a.id`)
	if err != nil {
		return nil, fmt.Errorf("store: asset ids: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: asset ids: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: asset ids: %w", err)
	}
	return ids, nil
}

// SetAssetRisk stores an asset's risk.
func (db *DB) SetAssetRisk(ctx context.Context, id string, risk float64) error {
	if risk != risk || risk < 0 {
		return invalidf("risk %v", risk)
	}
	res, err := db.writer().exec(ctx, `UPDATE assets SET risk = ? WHERE id = ?`, risk, id)
	if err := affected(res, err); err != nil {
		return fmt.Errorf("store: set risk of asset %s: %w", id, err)
	}
	return nil
}

// PutAsset creates or updates an asset no agent owns (a repository whose
// scan results are uploaded), as Ingester.UpsertAsset does.
func (db *DB) PutAsset(ctx context.Context, a Asset) error {
	if a.AgentID != "" {
		return invalidf("asset %s: PutAsset is for assets no agent owns", a.ID)
	}
	return db.tx(ctx, func(c conn) error { return (&ingester{c}).UpsertAsset(ctx, a) })
}
