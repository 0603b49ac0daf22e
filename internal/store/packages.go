package store

import (
	"context"
	"fmt"
)

var packagesList = &listDef{
	tag:   "packages",
	sorts: map[string]column{"name": {"name", kString}, "ecosystem": {"ecosystem", kString}},
	def:   "name",
	ties:  []column{{"asset_id", kString}, {"id", kString}},
	filters: map[string]filterFn{
		"asset_id":  fExact("asset_id"),
		"name":      fExact("name"),
		"ecosystem": fEnum("ecosystem"),
		"purl":      fExact("purl"),
	},
}

const packageCols = `asset_id, id, name, version, ecosystem, purl`

func packageDests(p *Package) []any {
	return []any{&p.AssetID, &p.ID, &p.Name, &p.Version, &p.Ecosystem, &p.PURL}
}

// ListPackages lists packages without their Data. Filters: asset_id,
// name (exact), ecosystem (enumerated), purl (exact); sorts: name
// (default), ecosystem; ties are broken by asset and package ID.
func (db *DB) ListPackages(ctx context.Context, o ListOptions) (Page[Package], error) {
	return list(ctx, db, packagesList, o, query[Package]{cols: packageCols, from: "packages", dests: packageDests}, nil)
}

// AssetPackages returns all of an asset's packages with Data, by name (an
// unknown asset has none).
func (db *DB) AssetPackages(ctx context.Context, assetID string) ([]Package, error) {
	rows, err := db.reader().query(ctx, `SELECT `+packageCols+`, data FROM packages WHERE asset_id = ? ORDER BY name, id`, assetID)
	if err != nil {
		return nil, fmt.Errorf("store: packages of %s: %w", assetID, err)
	}
	defer rows.Close()
	var out []Package
	for rows.Next() {
		var p Package
		if err := rows.Scan(append(packageDests(&p), rawDest{&p.Data})...); err != nil {
			return nil, fmt.Errorf("store: packages of %s: %w", assetID, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: packages of %s: %w", assetID, err)
	}
	return out, nil
}

var itemsList = &listDef{
	tag:   "items",
	sorts: map[string]column{"key": {"key", kString}},
	def:   "key",
	ties:  []column{{"asset_id", kString}},
	filters: map[string]filterFn{
		"asset_id": fExact("asset_id"),
		"kind":     fExact("kind"),
		"key":      fExact("key"),
	},
}

// ListItems lists inventory items. Filters: asset_id, kind (required),
// key (exact); sorts: key (default; ties by asset).
func (db *DB) ListItems(ctx context.Context, o ListOptions) (Page[Item], error) {
	if o.Filter["kind"] == "" {
		return Page[Item]{}, invalidf("items need a kind filter")
	}
	q := query[Item]{
		cols: "asset_id, kind, key, data", from: "items",
		dests: func(it *Item) []any { return []any{&it.AssetID, &it.Kind, &it.Key, rawDest{&it.Data}} },
	}
	return list(ctx, db, itemsList, o, q, nil)
}
