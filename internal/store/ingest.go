package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// errReplay ends the transaction of a replayed message.
var errReplay = errors.New("store: replayed message")

// Ingest runs fn in one transaction for the agent's message seq and sets
// the agent's LastSeq to seq, committing before it returns. A seq not
// above LastSeq is a replay: fn does not run and duplicate is true
// (sequence numbers start at 1). When fn fails nothing it wrote is kept
// and LastSeq is unchanged. An unknown agent is ErrNotFound.
//
// fn must use only the Ingester it is given, not the Store: on SQLite the
// transaction holds the only write connection.
func (db *DB) Ingest(ctx context.Context, agentID string, seq uint64, fn func(Ingester) error) (duplicate bool, err error) {
	s, err := seqArg(seq)
	if err != nil {
		return false, err
	}
	lock := ""
	if db.pg() {
		// Messages of one agent apply one after the other.
		lock = " FOR UPDATE"
	}
	err = db.tx(ctx, func(c conn) error {
		var last int64
		if err := c.row(ctx, []any{&last}, `SELECT last_seq FROM agents WHERE id = ?`+lock, agentID); err != nil {
			return fmt.Errorf("agent %s: %w", agentID, err)
		}
		if s <= last {
			return errReplay
		}
		if err := fn(&ingester{c}); err != nil {
			return err
		}
		_, err := c.exec(ctx, `UPDATE agents SET last_seq = ? WHERE id = ?`, s, agentID)
		return err
	})
	if errors.Is(err, errReplay) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: ingest: %w", err)
	}
	return false, nil
}

// ingester is the Ingester of one Ingest transaction.
type ingester struct{ c conn }

var _ Ingester = (*ingester)(nil)

// assetUpsert is UpsertAsset's pair of statements: an update of
// last_seen alone when nothing else changed — most upserts are an agent's
// periodic delta repeating an unchanged asset, and then only the indexes
// holding last_seen change, not the dozen others an upsert of every
// column rewrites — and the upsert of every column otherwise.
type assetUpsert struct{ update, insert string }

// Each dialect's, built once.
var upsertAssetSQLite, upsertAssetPG = upsertAssetSQL(false), upsertAssetSQL(true)

func upsertAssetSQL(pg bool) assetUpsert {
	labelsSame, attrsSame := `labels IS ?`, `attrs IS ?`
	if pg {
		labelsSame, attrsSame = `labels IS NOT DISTINCT FROM ?::jsonb`, `attrs::text IS NOT DISTINCT FROM ?::text`
	}
	return assetUpsert{
		update: `UPDATE assets SET last_seen = ? WHERE id = ? AND gone = FALSE AND kind = ? AND name = ?
		AND agent_id = ? AND parent_id = ? AND os = ? AND platform = ? AND cloud = ? AND region = ? AND ` + labelsSame + ` AND ` + attrsSame,
		insert: `INSERT INTO assets (id, kind, name, agent_id, parent_id, os, platform, cloud, region, labels, attrs, first_seen, last_seen, gone, risk)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, FALSE, ?)
		ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, agent_id = excluded.agent_id,
			parent_id = excluded.parent_id, os = excluded.os, platform = excluded.platform, cloud = excluded.cloud,
			region = excluded.region, labels = excluded.labels, attrs = excluded.attrs, last_seen = excluded.last_seen,
			gone = FALSE`,
	}
}

// UpsertAsset creates or updates an asset by ID: FirstSeen is kept (on
// creation it is a.FirstSeen, or a.LastSeen when zero), LastSeen is set
// to a.LastSeen (now when zero), Gone is cleared and Risk kept.
func (in *ingester) UpsertAsset(ctx context.Context, a Asset) error {
	c := in.c
	if a.ID == "" || a.Kind == "" {
		return invalidf("asset without an id or kind")
	}
	if a.LastSeen.IsZero() {
		a.LastSeen = time.Now()
	}
	if a.FirstSeen.IsZero() {
		a.FirstSeen = a.LastSeen
	}
	attrs, err := jsonArg("asset attrs", a.Attrs)
	if err != nil {
		return err
	}
	db := c.db
	stmts := upsertAssetSQLite
	if db.pg() {
		stmts = upsertAssetPG
	}
	res, err := c.exec(ctx, stmts.update,
		db.tv(a.LastSeen), a.ID, a.Kind, a.Name, a.AgentID, a.ParentID, a.OS, a.Platform, a.Cloud, a.Region, labelsArg(a.Labels), attrs)
	if err != nil {
		return fmt.Errorf("store: upsert asset %s: %w", a.ID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 1 {
		return nil
	}
	_, err = c.exec(ctx, stmts.insert,
		a.ID, a.Kind, a.Name, a.AgentID, a.ParentID, a.OS, a.Platform, a.Cloud, a.Region, labelsArg(a.Labels), attrs,
		db.tv(a.FirstSeen), db.tv(a.LastSeen), a.Risk)
	if err != nil {
		return fmt.Errorf("store: upsert asset %s: %w", a.ID, err)
	}
	return nil
}

// liveAssetsQuery lists an agent's live assets of a kind (from the index
// assets_agent alone: TestIngestPlans).
const liveAssetsQuery = `SELECT id FROM assets WHERE agent_id = ? AND kind = ? AND gone = FALSE`

// MarkGone sets Gone on the agent's assets of a kind not in keep.
func (in *ingester) MarkGone(ctx context.Context, agentID, kind string, keep []string) error {
	c := in.c
	rows, err := c.query(ctx, liveAssetsQuery, agentID, kind)
	if err != nil {
		return fmt.Errorf("store: mark gone: %w", err)
	}
	kept := make(map[string]bool, len(keep))
	for _, id := range keep {
		kept[id] = true
	}
	var gone []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("store: mark gone: %w", err)
		}
		if !kept[id] {
			gone = append(gone, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: mark gone: %w", err)
	}
	if err := batchIn(ctx, c, `UPDATE assets SET gone = TRUE WHERE id`, "", nil, gone); err != nil {
		return fmt.Errorf("store: mark gone: %w", err)
	}
	return nil
}

const assetExistsQuery = `SELECT 1 FROM assets WHERE id = ?`

// assetExists returns ErrNotFound for an unknown asset.
func assetExists(ctx context.Context, c conn, id string) error {
	var one int
	if err := c.row(ctx, []any{&one}, assetExistsQuery, id); err != nil {
		return fmt.Errorf("asset %s: %w", id, err)
	}
	return nil
}

// packageRows checks pkgs belong to assetID and keeps the last of each ID.
func packageRows(assetID string, pkgs []Package) ([]Package, error) {
	seen := make(map[string]int, len(pkgs))
	out := make([]Package, 0, len(pkgs))
	for _, p := range pkgs {
		if p.ID == "" || p.Name == "" {
			return nil, invalidf("package without an id or name")
		}
		if p.AssetID != "" && p.AssetID != assetID {
			return nil, invalidf("package %s of asset %s given for asset %s", p.ID, p.AssetID, assetID)
		}
		p.AssetID = assetID
		if len(p.Data) > 0 && !jsonValid(p.Data) {
			return nil, invalidf("package %s data is not valid JSON", p.ID)
		}
		if i, ok := seen[p.ID]; ok {
			out[i] = p
			continue
		}
		seen[p.ID] = len(out)
		out = append(out, p)
	}
	return out, nil
}

const packageInsert = `INSERT INTO packages (asset_id, id, name, version, ecosystem, purl, data)`

func packageArgs(pkgs []Package) func(i int, args []any) []any {
	return func(i int, args []any) []any {
		p := &pkgs[i]
		var data any
		if len(p.Data) > 0 {
			data = string(p.Data)
		}
		return append(args, p.AssetID, p.ID, p.Name, p.Version, p.Ecosystem, p.PURL, data)
	}
}

// ReplacePackages makes pkgs the asset's whole package list. It writes
// only the difference with the stored list: an agent's snapshots mostly
// repeat the one before.
func (in *ingester) ReplacePackages(ctx context.Context, assetID string, pkgs []Package) error {
	pkgs, err := packageRows(assetID, pkgs)
	if err != nil {
		return err
	}
	c := in.c
	if err := assetExists(ctx, c, assetID); err != nil {
		return fmt.Errorf("store: replace packages: %w", err)
	}
	stored, err := storedPackages(ctx, c, assetID)
	if err != nil {
		return fmt.Errorf("store: replace packages of %s: %w", assetID, err)
	}
	// Changed packages are deleted and inserted again, so that the insert
	// needs no upsert clause: an upsert's UPDATE may abort, and that makes
	// SQLite journal every page the statement touches.
	changed := pkgs[:0:0]
	var removed []string
	for _, p := range pkgs {
		if old, ok := stored[p.ID]; ok {
			delete(stored, p.ID)
			if old.Name == p.Name && old.Version == p.Version && old.Ecosystem == p.Ecosystem && old.PURL == p.PURL &&
				string(old.Data) == string(p.Data) {
				continue
			}
			removed = append(removed, p.ID)
		}
		changed = append(changed, p)
	}
	for id := range stored {
		removed = append(removed, id)
	}
	if err := batchIn(ctx, c, `DELETE FROM packages WHERE asset_id = ? AND id`, "", []any{assetID}, removed); err != nil {
		return fmt.Errorf("store: replace packages of %s: %w", assetID, err)
	}
	if err := batchInsert(ctx, c, packageInsert, "", 7, len(changed), packageArgs(changed)); err != nil {
		return fmt.Errorf("store: replace packages of %s: %w", assetID, err)
	}
	return nil
}

// storedPackages returns an asset's packages by ID.
func storedPackages(ctx context.Context, c conn, assetID string) (map[string]Package, error) {
	rows, err := c.query(ctx, `SELECT id, name, version, ecosystem, purl, data FROM packages WHERE asset_id = ?`, assetID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]Package{}
	for rows.Next() {
		var p Package
		var data sql.RawBytes
		if err := rows.Scan(&p.ID, &p.Name, &p.Version, &p.Ecosystem, &p.PURL, &data); err != nil {
			return nil, err
		}
		if len(data) > 0 {
			p.Data = append(json.RawMessage(nil), data...)
		}
		m[p.ID] = p
	}
	return m, rows.Err()
}

// writePackages upserts and deletes an asset's packages.
func writePackages(ctx context.Context, c conn, assetID string, upsert []Package, remove []string) error {
	if err := batchIn(ctx, c, `DELETE FROM packages WHERE asset_id = ? AND id`, "", []any{assetID}, remove); err != nil {
		return err
	}
	return batchInsert(ctx, c, packageInsert, ` ON CONFLICT (asset_id, id) DO UPDATE SET name = excluded.name,
		version = excluded.version, ecosystem = excluded.ecosystem, purl = excluded.purl, data = excluded.data`,
		7, len(upsert), packageArgs(upsert))
}

// PatchPackages adds (or replaces by ID) and removes packages by ID.
func (in *ingester) PatchPackages(ctx context.Context, assetID string, upsert []Package, remove []string) error {
	upsert, err := packageRows(assetID, upsert)
	if err != nil {
		return err
	}
	c := in.c
	if err := assetExists(ctx, c, assetID); err != nil {
		return fmt.Errorf("store: patch packages: %w", err)
	}
	if err := writePackages(ctx, c, assetID, upsert, uniq(remove)); err != nil {
		return fmt.Errorf("store: patch packages of %s: %w", assetID, err)
	}
	return nil
}

// itemRows checks items belong to assetID (and, when kinds is not nil, to
// one of kinds) and keeps the last of each (Kind, Key).
func itemRows(assetID string, kinds []string, items []Item, needData bool) ([]Item, error) {
	type k struct{ kind, key string }
	seen := make(map[k]int, len(items))
	out := make([]Item, 0, len(items))
	for _, it := range items {
		if it.Kind == "" || it.Key == "" {
			return nil, invalidf("item without a kind or key")
		}
		if it.AssetID != "" && it.AssetID != assetID {
			return nil, invalidf("item %s/%s of asset %s given for asset %s", it.Kind, it.Key, it.AssetID, assetID)
		}
		if kinds != nil && !slices.Contains(kinds, it.Kind) {
			return nil, invalidf("item of kind %q not among the kinds replaced", it.Kind)
		}
		if needData && len(it.Data) > 0 && !jsonValid(it.Data) {
			return nil, invalidf("item %s/%s data is not valid JSON", it.Kind, it.Key)
		}
		it.AssetID = assetID
		if i, ok := seen[k{it.Kind, it.Key}]; ok {
			out[i] = it
			continue
		}
		seen[k{it.Kind, it.Key}] = len(out)
		out = append(out, it)
	}
	return out, nil
}

const itemInsert = `INSERT INTO items (asset_id, kind, key, data)`

func itemArgs(items []Item) func(i int, args []any) []any {
	return func(i int, args []any) []any {
		it := &items[i]
		var data any
		if len(it.Data) > 0 {
			data = string(it.Data)
		}
		return append(args, it.AssetID, it.Kind, it.Key, data)
	}
}

// ReplaceItems makes items the asset's whole list of inventory items of
// the given kinds (kinds absent from items are emptied). An item of a
// kind not in kinds is ErrInvalid.
func (in *ingester) ReplaceItems(ctx context.Context, assetID string, kinds []string, items []Item) error {
	if kinds == nil {
		kinds = []string{}
	}
	items, err := itemRows(assetID, kinds, items, true)
	if err != nil {
		return err
	}
	c := in.c
	if err := assetExists(ctx, c, assetID); err != nil {
		return fmt.Errorf("store: replace items: %w", err)
	}
	if err := batchIn(ctx, c, `DELETE FROM items WHERE asset_id = ? AND kind`, "", []any{assetID}, kinds); err != nil {
		return fmt.Errorf("store: replace items of %s: %w", assetID, err)
	}
	if err := batchInsert(ctx, c, itemInsert, "", 4, len(items), itemArgs(items)); err != nil {
		return fmt.Errorf("store: replace items of %s: %w", assetID, err)
	}
	return nil
}

// PatchItems adds or replaces items by (Kind, Key) and removes the given
// (Kind, Key) pairs (their Data is ignored).
func (in *ingester) PatchItems(ctx context.Context, assetID string, upsert []Item, remove []Item) error {
	upsert, err := itemRows(assetID, nil, upsert, true)
	if err != nil {
		return err
	}
	remove, err = itemRows(assetID, nil, remove, false)
	if err != nil {
		return err
	}
	c := in.c
	if err := assetExists(ctx, c, assetID); err != nil {
		return fmt.Errorf("store: patch items: %w", err)
	}
	byKind := map[string][]string{}
	var kinds []string
	for _, it := range remove {
		if _, ok := byKind[it.Kind]; !ok {
			kinds = append(kinds, it.Kind)
		}
		byKind[it.Kind] = append(byKind[it.Kind], it.Key)
	}
	for _, k := range kinds {
		if err := batchIn(ctx, c, `DELETE FROM items WHERE asset_id = ? AND kind = ? AND key`, "", []any{assetID, k}, byKind[k]); err != nil {
			return fmt.Errorf("store: patch items of %s: %w", assetID, err)
		}
	}
	err = batchInsert(ctx, c, itemInsert, ` ON CONFLICT (asset_id, kind, key) DO UPDATE SET data = excluded.data`,
		4, len(upsert), itemArgs(upsert))
	if err != nil {
		return fmt.Errorf("store: patch items of %s: %w", assetID, err)
	}
	return nil
}

// AddEvents appends events.
func (in *ingester) AddEvents(ctx context.Context, events []Event) error {
	return addEvents(ctx, in.c, events)
}

// TouchAgent sets the agent's LastSeen, Version and Hostname (each when
// not empty) and clears Silent.
func (in *ingester) TouchAgent(ctx context.Context, agentID string, seen time.Time, version, hostname string) error {
	c := in.c
	if seen.IsZero() {
		seen = time.Now()
	}
	res, err := c.exec(ctx, `UPDATE agents SET last_seen = ?,
		version = CASE WHEN ? = '' THEN version ELSE ? END,
		hostname = CASE WHEN ? = '' THEN hostname ELSE ? END,
		silent = FALSE WHERE id = ?`,
		c.db.tv(seen), version, version, hostname, hostname, agentID)
	if err := affected(res, err); err != nil {
		return fmt.Errorf("store: touch agent %s: %w", agentID, err)
	}
	return nil
}
