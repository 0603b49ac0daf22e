package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Bounds of a scan upload.
const (
	maxScanBody     = 32 << 20
	maxScanFindings = 100_000
	maxFindingData  = 64 << 10
)

// scanUpload is the body of POST /scans: the complete current result of
// one scanner kind for one source tree. Findings of that kind on the
// asset that the upload does not list become fixed; listed ones that were
// fixed are reopened.
type scanUpload struct {
	Asset scanAsset `json:"asset"`
	// Kind is misconfiguration or secret.
	Kind     string        `json:"kind"`
	Findings []scanFinding `json:"findings"`
}

// scanAsset names the scanned tree.
type scanAsset struct {
	// Name identifies the tree (a repository URL, a path): the asset is
	// found again by it.
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
}

type scanFinding struct {
	// ID is stable across scans of the tree (the scanner's fingerprint:
	// rule, file and resource, never line numbers).
	ID       string          `json:"id"`
	RuleID   string          `json:"ruleId"`
	Severity string          `json:"severity"`
	Title    string          `json:"title"`
	Data     json.RawMessage `json:"data,omitempty"`
}

// scanResult says what an upload changed.
type scanResult struct {
	AssetID   string `json:"assetId"`
	New       int    `json:"new"`
	Reopened  int    `json:"reopened"`
	Fixed     int    `json:"fixed"`
	Unchanged int    `json:"unchanged"`
}

// severityRisk is the risk of a finding without CVSS or EPSS: the bases
// docs/risk.md gives ratings without a vector.
var severityRisk = map[string]float64{"critical": 90, "high": 75, "medium": 50, "low": 25, "unknown": 50, "": 50}

// RepositoryID is the asset ID of the scanned tree with that name.
func RepositoryID(name string) string {
	h := sha256.Sum256([]byte(store.AssetRepository + "\x00" + name))
	return store.AssetRepository + "-" + hex.EncodeToString(h[:10])
}

func (u *scanUpload) validate() error {
	if err := checkLabel("asset.name", u.Asset.Name, 512); err != nil {
		return err
	}
	if strings.TrimSpace(u.Asset.Name) == "" {
		return invalidf("asset.name is required")
	}
	if len(u.Asset.Labels) > 64 {
		return invalidf("at most 64 asset labels")
	}
	for k, v := range u.Asset.Labels {
		if k == "" || len(k) > 253 || len(v) > 253 {
			return invalidf("asset label %q: keys of 1-253 bytes, values of at most 253", k)
		}
	}
	if u.Kind != "misconfiguration" && u.Kind != "secret" {
		return invalidf(`kind must be "misconfiguration" or "secret"`)
	}
	if len(u.Findings) > maxScanFindings {
		return invalidf("%d findings, at most %d per upload", len(u.Findings), maxScanFindings)
	}
	for i, f := range u.Findings {
		switch {
		case f.ID == "" || len(f.ID) > 256:
			return invalidf("findings[%d].id: 1-256 bytes", i)
		case f.RuleID == "" || len(f.RuleID) > 256:
			return invalidf("findings[%d].ruleId: 1-256 bytes", i)
		case len(f.Title) > 1024:
			return invalidf("findings[%d].title: at most 1024 bytes", i)
		case len(f.Data) > maxFindingData:
			return invalidf("findings[%d].data: at most %d bytes", i, maxFindingData)
		}
		if _, ok := severityRisk[strings.ToLower(f.Severity)]; !ok {
			return invalidf("findings[%d].severity %q", i, f.Severity)
		}
	}
	return nil
}

func (s *Server) scanUpload(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req scanUpload
	if err := decodeLimit(w, r, &req, maxScanBody); err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return err
	}
	ctx := r.Context()
	now := s.now()
	id := RepositoryID(req.Asset.Name)
	if err := s.st.PutAsset(ctx, store.Asset{ID: id, Kind: store.AssetRepository, Name: req.Asset.Name,
		Labels: req.Asset.Labels, FirstSeen: now, LastSeen: now}); err != nil {
		return err
	}
	fs := make([]store.Finding, 0, len(req.Findings))
	for _, f := range req.Findings {
		sum := sha256.Sum256([]byte(id + "\x00" + req.Kind + "\x00" + f.ID))
		sev := strings.ToLower(f.Severity)
		fs = append(fs, store.Finding{ID: "f-" + hex.EncodeToString(sum[:12]), RuleID: f.RuleID, Severity: sev,
			Risk: severityRisk[sev], Title: f.Title, Data: f.Data})
	}
	sync, err := s.st.SyncFindings(ctx, id, req.Kind, fs, now)
	if err != nil {
		return err
	}
	s.audit(ctx, r, p, actScanUpload, "asset:"+id, map[string]any{
		"name": req.Asset.Name, "kind": req.Kind, "findings": len(fs),
		"new": sync.New, "reopened": sync.Reopened, "fixed": sync.Fixed,
	})
	writeJSON(w, http.StatusOK, scanResult{AssetID: id, New: sync.New, Reopened: sync.Reopened, Fixed: sync.Fixed, Unchanged: sync.Unchanged})
	return nil
}
