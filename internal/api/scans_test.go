package api

import (
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

// TestScanUpload: an upload makes the tree an asset and its findings new;
// a later upload without one of them fixes it and brings back none twice;
// the findings carry severity-based risk; bad uploads are refused whole.
func TestScanUpload(t *testing.T) {
	e := newEnv(t)
	tok := e.session(e.analyst)
	up := scanUpload{Asset: scanAsset{Name: "git.example.internal/infra", Labels: map[string]string{"environment": "production"}},
		Kind: "misconfiguration", Findings: []scanFinding{
			{ID: "fp-1", RuleID: "VGL-AWS-001", Severity: "high", Title: "S3 bucket is public", Data: []byte(`{"address":"aws_s3_bucket.logs"}`)},
			{ID: "fp-2", RuleID: "VGL-K8S-003", Severity: "critical", Title: "Privileged container"},
		}}
	var res scanResult
	want(t, e.do("POST", "/api/v1/scans", tok, up), 200, &res)
	if res.AssetID != RepositoryID(up.Asset.Name) || res.New != 2 {
		t.Fatalf("first upload: %+v", res)
	}
	a, err := e.st.Asset(e.ctx, res.AssetID)
	if err != nil || a.Kind != store.AssetRepository || a.Name != up.Asset.Name || a.Labels["environment"] != "production" || a.AgentID != "" {
		t.Fatalf("asset %+v, %v", a, err)
	}
	p, err := e.st.ListFindings(e.ctx, store.ListOptions{Limit: 10, Filter: map[string]string{"asset_id": res.AssetID}})
	if err != nil || len(p.Items) != 2 {
		t.Fatalf("findings %+v, %v", p.Items, err)
	}
	for _, f := range p.Items {
		if f.Kind != "misconfiguration" || f.Status != "new" || (f.Severity == "critical") != (f.Risk == 90) {
			t.Errorf("finding %+v", f)
		}
	}

	up.Findings = up.Findings[:1]
	want(t, e.do("POST", "/api/v1/scans", tok, up), 200, &res)
	if res.Fixed != 1 || res.New != 0 || res.Unchanged != 1 {
		t.Errorf("second upload: %+v", res)
	}
	// Another kind on the same tree leaves these alone.
	want(t, e.do("POST", "/api/v1/scans", tok, scanUpload{Asset: up.Asset, Kind: "secret"}), 200, &res)
	if res.Fixed != 0 {
		t.Errorf("an empty secret upload fixed %d misconfigurations", res.Fixed)
	}

	for name, bad := range map[string]scanUpload{
		"no name":      {Kind: "secret"},
		"bad kind":     {Asset: up.Asset, Kind: "vulnerability"},
		"no id":        {Asset: up.Asset, Kind: "secret", Findings: []scanFinding{{RuleID: "R"}}},
		"bad severity": {Asset: up.Asset, Kind: "secret", Findings: []scanFinding{{ID: "x", RuleID: "R", Severity: "dire"}}},
		"long title":   {Asset: up.Asset, Kind: "secret", Findings: []scanFinding{{ID: "x", RuleID: "R", Title: strings.Repeat("t", 2000)}}},
	} {
		if w := e.do("POST", "/api/v1/scans", tok, bad); w.Code != 400 {
			t.Errorf("%s: status %d, want 400: %s", name, w.Code, w.Body)
		}
	}
	if w := e.do("POST", "/api/v1/scans", e.session(e.readonly), up); w.Code != 403 {
		t.Errorf("read-only upload: status %d", w.Code)
	}
}
