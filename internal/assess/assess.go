// Package assess is the server's vulnerability assessment: it matches the
// packages agents reported (kept in the store) against the server's
// vulnerability database (internal/vulndb through internal/vuln), and syncs
// the result into the store's findings, whose lifecycle (new, open, fixed,
// reopened, accepted) the store keeps. Agents carry no database.
//
// Assets are assessed when their packages change (Enqueue) and all of them
// again when the database is replaced (Watch notices a new build time).
package assess

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/inventory"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln"
	"github.com/vigil-sec/vigil/internal/vulndb"
)

// metaBuiltAt is the store's record of the database build last assessed
// against.
const metaBuiltAt = "vulndb.builtAt"

// Assessor assesses assets. Its methods are safe for concurrent use.
type Assessor struct {
	store  store.Store
	dbPath string
	log    *slog.Logger
	now    func() time.Time

	mu      sync.Mutex
	db      *vulndb.DB // nil while no database exists
	builtAt time.Time

	queue   chan struct{}
	pending map[string]bool
	pmu     sync.Mutex

	// Assessed counts assets assessed (for tests and metrics).
	Assessed func()
	// Synced, when set, is called after an asset's findings were synced
	// with what changed (notifications of new findings). It must not
	// block for long.
	Synced func(assetID string, sync store.FindingsSync)
}

// New returns an Assessor reading the database at dbPath (which may not
// exist yet).
func New(st store.Store, dbPath string, log *slog.Logger) *Assessor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Assessor{store: st, dbPath: dbPath, log: log, now: time.Now,
		queue: make(chan struct{}, 1), pending: map[string]bool{}, Assessed: func() {}}
}

// Close closes the database.
func (a *Assessor) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.db != nil {
		return a.db.Close()
	}
	return nil
}

// Enqueue schedules assets for assessment; it never blocks.
func (a *Assessor) Enqueue(ids []string) {
	a.pmu.Lock()
	for _, id := range ids {
		a.pending[id] = true
	}
	a.pmu.Unlock()
	select {
	case a.queue <- struct{}{}:
	default:
	}
}

// Run assesses queued assets and checks the database for a new build
// every interval, until ctx ends.
func (a *Assessor) Run(ctx context.Context, interval time.Duration) {
	if _, err := a.Reload(ctx); err != nil {
		a.log.Warn("vulnerability database", "err", err)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := a.Reload(ctx); err != nil {
				a.log.Warn("vulnerability database", "err", err)
			}
		case <-a.queue:
		}
		a.drain(ctx)
	}
}

func (a *Assessor) drain(ctx context.Context) {
	for ctx.Err() == nil {
		a.pmu.Lock()
		var id string
		for k := range a.pending {
			id = k
			break
		}
		delete(a.pending, id)
		a.pmu.Unlock()
		if id == "" {
			return
		}
		if _, err := a.Asset(ctx, id); err != nil {
			a.log.Error("assessment failed", "asset", id, "err", err)
		}
	}
}

// Reload opens the database if its build changed since the last
// assessment and, when it did, queues every asset for re-assessment. It
// reports whether it did.
func (a *Assessor) Reload(ctx context.Context) (bool, error) {
	if _, err := os.Stat(a.dbPath); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	db, err := vulndb.Open(a.dbPath)
	if err != nil {
		return false, err
	}
	built := db.Meta().BuiltAt
	a.mu.Lock()
	if a.db != nil && a.builtAt.Equal(built) {
		a.mu.Unlock()
		db.Close()
		return false, nil
	}
	old := a.db
	a.db, a.builtAt = db, built
	a.mu.Unlock()
	if old != nil {
		old.Close()
	}
	last, err := a.store.Meta(ctx, metaBuiltAt)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	stamp := built.UTC().Format(time.RFC3339Nano)
	if last == stamp {
		return false, nil
	}
	ids, err := a.store.AssetIDs(ctx)
	if err != nil {
		return false, err
	}
	a.log.Info("vulnerability database changed; re-assessing", "built", stamp, "assets", len(ids))
	a.Enqueue(ids)
	return true, a.store.SetMeta(ctx, metaBuiltAt, stamp)
}

// Asset assesses one asset now and returns what changed.
func (a *Assessor) Asset(ctx context.Context, id string) (store.FindingsSync, error) {
	a.mu.Lock()
	db := a.db
	a.mu.Unlock()
	if db == nil {
		return store.FindingsSync{}, nil // nothing to match against yet
	}
	as, err := a.store.Asset(ctx, id)
	if err != nil {
		return store.FindingsSync{}, err
	}
	pkgs, err := a.store.AssetPackages(ctx, id)
	if err != nil {
		return store.FindingsSync{}, err
	}
	res := &inventory.Result{Asset: asset.Asset{ID: as.ID, Kind: asset.Kind(as.Kind), Name: as.Name, OS: assetOS(as)}}
	for _, p := range pkgs {
		var ip inventory.Package
		if len(p.Data) > 0 {
			if err := json.Unmarshal(p.Data, &ip); err != nil {
				return store.FindingsSync{}, fmt.Errorf("asset %s package %s: %w", id, p.ID, err)
			}
		} else {
			ip = inventory.Package{ID: p.ID, Name: p.Name, Version: p.Version, Ecosystem: inventory.Ecosystem(p.Ecosystem), PURL: p.PURL}
		}
		res.Packages = append(res.Packages, ip)
	}
	rep, err := vuln.Find(ctx, db, res, vuln.Options{Now: a.now})
	if err != nil {
		return store.FindingsSync{}, err
	}
	now := a.now()
	fs := Findings(id, rep.Matches)
	sync, err := a.store.SyncFindings(ctx, id, string(finding.KindVulnerability), fs, now)
	if err != nil {
		return sync, err
	}
	risk := 0.0
	for _, f := range fs {
		risk = max(risk, f.Risk)
	}
	if err := a.store.SetAssetRisk(ctx, id, risk); err != nil {
		return sync, err
	}
	if a.Synced != nil {
		a.Synced(id, sync)
	}
	a.Assessed()
	return sync, nil
}

// Findings converts matches of one asset into store findings.
func Findings(assetID string, ms []vuln.Match) []store.Finding {
	out := make([]store.Finding, 0, len(ms))
	for _, m := range ms {
		data, _ := json.Marshal(m)
		out = append(out, store.Finding{
			ID:      finding.NewID(assetID, finding.KindVulnerability, m.ID, m.PackageID),
			AssetID: assetID, Kind: string(finding.KindVulnerability),
			PackageID: m.PackageID, RuleID: m.ID,
			Severity: m.Severity.String(), Risk: m.Risk.Score, Title: m.Summary,
			Package: m.Package, PackageVersion: m.Version, FixedVersion: m.FixVersion,
			Data: data,
		})
	}
	return out
}

// assetOS reads the asset's OS release from its attributes (the agent
// sends asset.OS under "os").
func assetOS(a store.Asset) *asset.OS {
	var attrs struct {
		OS *asset.OS `json:"os"`
	}
	if len(a.Attrs) == 0 || json.Unmarshal(a.Attrs, &attrs) != nil || attrs.OS == nil || attrs.OS.ID == "" {
		return nil
	}
	return attrs.OS
}
