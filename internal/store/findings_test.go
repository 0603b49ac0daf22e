package store

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// vf makes a vulnerability finding of asset h1.
func vf(rule, pkg string, risk float64, sev string) Finding {
	return Finding{ID: "f-" + rule + "-" + pkg, PackageID: "pid-" + pkg, RuleID: rule, Severity: sev, Risk: risk,
		Title: rule + " in " + pkg, Package: pkg, PackageVersion: "1.0", FixedVersion: "1.1",
		Data: json.RawMessage(fmt.Sprintf(`{"id":%q}`, rule))}
}

func TestSyncFindingsLifecycle(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		newAgent(t, db, "a1")
		newAsset(t, db, "a1", Asset{ID: "h1", Kind: AssetHost, Name: "web-1"})
		A, B, C := vf("CVE-1", "openssl", 9, "critical"), vf("CVE-2", "curl", 5, "medium"), vf("CVE-3", "zlib", 2, "low")

		type step struct {
			name    string
			now     time.Time
			current []Finding
			accept  []string // accepted before this sync, until acceptUntil
			until   time.Time
			want    FindingsSync
			status  map[string]string // finding ID → status after
		}
		steps := []step{
			{name: "first assessment", now: at(1 * time.Hour), current: []Finding{A, B},
				want: FindingsSync{New: 2}, status: map[string]string{A.ID: StatusNew, B.ID: StatusNew}},
			{name: "same again", now: at(2 * time.Hour), current: []Finding{A, B},
				want: FindingsSync{Unchanged: 2}, status: map[string]string{A.ID: StatusOpen, B.ID: StatusOpen}},
			{name: "B fixed, C new", now: at(3 * time.Hour), current: []Finding{A, C},
				want: FindingsSync{New: 1, Fixed: 1, Unchanged: 1}, status: map[string]string{A.ID: StatusOpen, B.ID: StatusFixed, C.ID: StatusNew}},
			{name: "B back", now: at(4 * time.Hour), current: []Finding{A, B, C},
				want: FindingsSync{Reopened: 1, Unchanged: 2}, status: map[string]string{A.ID: StatusOpen, B.ID: StatusReopened, C.ID: StatusOpen}},
			{name: "A accepted until +6h", now: at(5 * time.Hour), current: []Finding{A, B, C}, accept: []string{A.ID}, until: at(6 * time.Hour),
				want: FindingsSync{Unchanged: 3}, status: map[string]string{A.ID: StatusAccepted, B.ID: StatusOpen, C.ID: StatusOpen}},
			{name: "acceptance expired", now: at(6 * time.Hour), current: []Finding{A, B, C},
				want: FindingsSync{Expired: 1, Unchanged: 2}, status: map[string]string{A.ID: StatusOpen, B.ID: StatusOpen, C.ID: StatusOpen}},
			{name: "C accepted forever then fixed", now: at(7 * time.Hour), current: []Finding{A, B}, accept: []string{C.ID},
				want: FindingsSync{Fixed: 1, Unchanged: 2}, status: map[string]string{A.ID: StatusOpen, B.ID: StatusOpen, C.ID: StatusFixed}},
			{name: "accepting a fixed finding does nothing", now: at(8 * time.Hour), current: []Finding{A, B}, accept: []string{C.ID},
				want: FindingsSync{Unchanged: 2}, status: map[string]string{A.ID: StatusOpen, B.ID: StatusOpen, C.ID: StatusFixed}},
			{name: "C back with acceptance cleared", now: at(9 * time.Hour), current: []Finding{A, B, C},
				want: FindingsSync{Reopened: 1, Unchanged: 2}, status: map[string]string{C.ID: StatusReopened}},
			{name: "everything fixed", now: at(10 * time.Hour), current: nil,
				want: FindingsSync{Fixed: 3}, status: map[string]string{A.ID: StatusFixed, B.ID: StatusFixed, C.ID: StatusFixed}},
			{name: "still fixed", now: at(11 * time.Hour), current: nil,
				want: FindingsSync{}, status: map[string]string{A.ID: StatusFixed}},
		}
		for _, s := range steps {
			if s.accept != nil {
				if _, err := db.AcceptFindings(ctx, s.accept, "mitigated by WAF", s.until, "user:alice"); err != nil {
					t.Fatalf("%s: accept: %v", s.name, err)
				}
			}
			got, err := db.SyncFindings(ctx, "h1", "vulnerability", s.current, s.now)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if got != s.want {
				t.Errorf("%s: SyncFindings = %+v, want %+v", s.name, got, s.want)
			}
			for id, want := range s.status {
				f, err := db.Finding(ctx, id)
				must(t, err)
				if f.Status != want {
					t.Errorf("%s: %s is %s, want %s", s.name, id, f.Status, want)
				}
				switch f.Status {
				case StatusFixed:
					if f.FixedAt == nil || f.AcceptReason != "" {
						t.Errorf("%s: fixed %s: FixedAt %v, acceptance %q", s.name, id, f.FixedAt, f.AcceptReason)
					}
				case StatusAccepted:
					if f.AcceptReason != "mitigated by WAF" || f.AcceptedBy != "user:alice" || f.FixedAt != nil {
						t.Errorf("%s: accepted %s: %+v", s.name, id, f)
					}
				default:
					if f.FixedAt != nil || f.AcceptReason != "" || f.AcceptExpires != nil || !f.LastSeen.Equal(s.now) {
						t.Errorf("%s: %s %s: FixedAt %v, acceptance %q, LastSeen %v", s.name, f.Status, id, f.FixedAt, f.AcceptReason, f.LastSeen)
					}
				}
			}
		}

		// The stored record of A.
		f, err := db.Finding(ctx, A.ID)
		must(t, err)
		want := A
		want.AssetID, want.Kind, want.Status = "h1", "vulnerability", StatusFixed
		want.FirstSeen, want.LastSeen = at(1*time.Hour), at(9*time.Hour)
		fixedAt := at(10 * time.Hour)
		want.FixedAt = &fixedAt
		if diff := cmp.Diff(want, f, cmp.Comparer(jsonEqual)); diff != "" {
			t.Errorf("Finding (-want +got):\n%s", diff)
		}
		_, err = db.Finding(ctx, "f-none")
		wantErr(t, "unknown finding", err, ErrNotFound)
	})
}

func TestSyncFindingsRefreshAndScope(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		newAgent(t, db, "a1")
		newAsset(t, db, "a1", Asset{ID: "h1", Kind: AssetHost, Name: "web-1"})
		newAsset(t, db, "a1", Asset{ID: "h2", Kind: AssetHost, Name: "web-2"})
		A := vf("CVE-1", "openssl", 5, "medium")
		S := Finding{ID: "f-secret", RuleID: "aws-key", Severity: "HIGH", Risk: 6, Title: "AWS key"}
		_, err := db.SyncFindings(ctx, "h1", "vulnerability", []Finding{A}, t0)
		must(t, err)
		_, err = db.SyncFindings(ctx, "h1", "secret", []Finding{S}, t0)
		must(t, err)

		// Refresh severity, risk, title, fixed version and data; another
		// kind's sync leaves vulnerabilities alone.
		A2 := A
		A2.Severity, A2.Risk, A2.Title, A2.FixedVersion, A2.Data = "critical", 9.5, "new title", "2.0", json.RawMessage(`{"v":2}`)
		_, err = db.SyncFindings(ctx, "h1", "vulnerability", []Finding{A2, A2}, at(time.Hour))
		must(t, err)
		sum, err := db.SyncFindings(ctx, "h1", "secret", nil, at(time.Hour))
		must(t, err)
		if sum != (FindingsSync{Fixed: 1}) {
			t.Errorf("secret sync = %+v", sum)
		}
		f, _ := db.Finding(ctx, A.ID)
		if f.Severity != "critical" || f.Risk != 9.5 || f.Title != "new title" || f.FixedVersion != "2.0" || !jsonEqual(f.Data, A2.Data) || f.Status != StatusOpen {
			t.Errorf("refreshed finding: %+v", f)
		}
		s, _ := db.Finding(ctx, S.ID)
		if s.Severity != "high" || s.Status != StatusFixed {
			t.Errorf("secret finding: %+v", s)
		}

		for name, tc := range map[string]struct {
			asset, kind string
			f           []Finding
		}{
			"no id":          {"h1", "vulnerability", []Finding{{RuleID: "x"}}},
			"no rule":        {"h1", "vulnerability", []Finding{{ID: "x"}}},
			"other asset":    {"h1", "vulnerability", []Finding{{ID: "x", RuleID: "x", AssetID: "h2"}}},
			"other kind":     {"h1", "vulnerability", []Finding{{ID: "x", RuleID: "x", Kind: "secret"}}},
			"bad severity":   {"h1", "vulnerability", []Finding{{ID: "x", RuleID: "x", Severity: "urgent"}}},
			"negative risk":  {"h1", "vulnerability", []Finding{{ID: "x", RuleID: "x", Risk: -1}}},
			"bad data":       {"h1", "vulnerability", []Finding{{ID: "x", RuleID: "x", Data: json.RawMessage("[")}}},
			"no asset given": {"", "vulnerability", nil},
		} {
			_, err := db.SyncFindings(ctx, tc.asset, tc.kind, tc.f, t0)
			wantErr(t, name, err, ErrInvalid)
		}
		_, err = db.SyncFindings(ctx, "nope", "vulnerability", nil, t0)
		wantErr(t, "unknown asset", err, ErrNotFound)
		_, err = db.SyncFindings(ctx, "h2", "vulnerability", []Finding{A}, t0)
		wantErr(t, "another asset's finding ID", err, ErrConflict)
		_, err = db.SyncFindings(ctx, "h1", "misconfiguration", []Finding{A}, t0)
		wantErr(t, "another kind's finding ID", err, ErrConflict)

		// AcceptFindings counts changed findings only.
		n, err := db.AcceptFindings(ctx, []string{A.ID, S.ID, "f-none", A.ID}, "ok", time.Time{}, "user:bob")
		must(t, err)
		if n != 1 {
			t.Errorf("AcceptFindings changed %d, want 1 (S is fixed, f-none unknown)", n)
		}
		f, _ = db.Finding(ctx, A.ID)
		if f.Status != StatusAccepted || f.AcceptExpires != nil || f.AcceptedBy != "user:bob" {
			t.Errorf("accepted finding without expiry: %+v", f)
		}
	})
}

// findingsFixture makes two hosts with findings of several rules.
func findingsFixture(t *testing.T, db *DB) {
	t.Helper()
	newAgent(t, db, "a1")
	newAsset(t, db, "a1", Asset{ID: "h1", Kind: AssetHost, Name: "web-1"})
	newAsset(t, db, "a1", Asset{ID: "h2", Kind: AssetHost, Name: "web-2"})
	h1 := []Finding{vf("CVE-1", "openssl", 9.1, "critical"), vf("CVE-2", "curl", 5, "medium"), vf("CVE-3", "zlib", 2, "low")}
	h2 := []Finding{vf("CVE-1", "openssl", 8.2, "critical"), vf("CVE-4", "openssl", 7, "high")}
	for i := range h2 {
		h2[i].ID += "-h2"
	}
	_, err := db.SyncFindings(ctx, "h1", "vulnerability", h1, t0)
	must(t, err)
	_, err = db.SyncFindings(ctx, "h2", "vulnerability", h2, at(time.Minute))
	must(t, err)
	// CVE-3 gets fixed on h1; CVE-2 is accepted.
	_, err = db.SyncFindings(ctx, "h1", "vulnerability", h1[:2], at(time.Hour))
	must(t, err)
	_, err = db.AcceptFindings(ctx, []string{h1[1].ID}, "ok", at(48*time.Hour), "user:alice")
	must(t, err)
	_, err = db.SyncFindings(ctx, "h1", "secret", []Finding{{ID: "f-s1", RuleID: "aws-key", Severity: "high", Risk: 6.5}}, at(time.Hour))
	must(t, err)
}

func TestListFindings(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		findingsFixture(t, db)
		ids := func(o ListOptions) []string {
			t.Helper()
			p, err := db.ListFindings(ctx, o)
			must(t, err)
			var out []string
			for _, f := range p.Items {
				if f.Data != nil {
					t.Error("ListFindings returned Data")
				}
				out = append(out, f.ID)
			}
			return out
		}
		const (
			h1c1 = "f-CVE-1-openssl"
			h1c2 = "f-CVE-2-curl"
			h1c3 = "f-CVE-3-zlib"
			h2c1 = "f-CVE-1-openssl-h2"
			h2c4 = "f-CVE-4-openssl-h2"
			s1   = "f-s1"
		)
		for _, tc := range []struct {
			o    ListOptions
			want []string
		}{
			{ListOptions{Desc: true}, []string{h1c1, h2c1, h2c4, s1, h1c2, h1c3}},
			{ListOptions{}, []string{h1c3, h1c2, s1, h2c4, h2c1, h1c1}},
			{ListOptions{Sort: "severity", Desc: true}, []string{h2c1, h1c1, s1, h2c4, h1c2, h1c3}},
			{ListOptions{Sort: "first_seen"}, []string{h1c1, h1c2, h1c3, h2c1, h2c4, s1}},
			{ListOptions{Sort: "last_seen", Desc: true}, []string{s1, h1c2, h1c1, h2c4, h2c1, h1c3}},
			{ListOptions{Desc: true, Filter: map[string]string{"asset_id": "h2"}}, []string{h2c1, h2c4}},
			{ListOptions{Desc: true, Filter: map[string]string{"kind": "secret"}}, []string{s1}},
			{ListOptions{Desc: true, Filter: map[string]string{"kind": "secret,vulnerability", "min_risk": "7"}}, []string{h1c1, h2c1, h2c4}},
			{ListOptions{Desc: true, Filter: map[string]string{"status": "new,open,reopened"}}, []string{h1c1, h2c1, h2c4, s1}},
			{ListOptions{Desc: true, Filter: map[string]string{"status": "accepted"}}, []string{h1c2}},
			{ListOptions{Desc: true, Filter: map[string]string{"status": "fixed"}}, []string{h1c3}},
			{ListOptions{Desc: true, Filter: map[string]string{"severity": "critical,low"}}, []string{h1c1, h2c1, h1c3}},
			{ListOptions{Desc: true, Filter: map[string]string{"rule_id": "CVE-1"}}, []string{h1c1, h2c1}},
			{ListOptions{Desc: true, Filter: map[string]string{"package": "openssl", "asset_id": "h2"}}, []string{h2c1, h2c4}},
		} {
			if got := ids(tc.o); !cmp.Equal(got, tc.want) {
				t.Errorf("ListFindings(%+v) = %v, want %v", tc.o, got, tc.want)
			}
		}
		for _, f := range []map[string]string{{"status": "closed"}, {"severity": "urgent"}, {"min_risk": "high"}, {"title": "x"}} {
			_, err := db.ListFindings(ctx, ListOptions{Filter: f})
			wantErr(t, fmt.Sprint("ListFindings ", f), err, ErrInvalid)
		}
	})
}

func TestListVulnerabilities(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		findingsFixture(t, db)
		list := func(o ListOptions) []Vulnerability {
			t.Helper()
			p, err := db.ListVulnerabilities(ctx, o)
			must(t, err)
			return p.Items
		}
		all := list(ListOptions{Desc: true})
		want := []Vulnerability{
			{ID: "CVE-1", Severity: "critical", Risk: 9.1, Title: "CVE-1 in openssl", Assets: 2, Packages: 1, Open: 2},
			{ID: "CVE-4", Severity: "high", Risk: 7, Title: "CVE-4 in openssl", Assets: 1, Packages: 1, Open: 1},
			{ID: "CVE-2", Severity: "medium", Risk: 5, Title: "CVE-2 in curl", Assets: 0, Packages: 1, Accepted: 1},
			{ID: "CVE-3", Severity: "low", Risk: 2, Title: "CVE-3 in zlib", Assets: 0, Packages: 1, Fixed: 1},
		}
		if diff := cmp.Diff(want, all); diff != "" {
			t.Errorf("ListVulnerabilities (-want +got):\n%s", diff)
		}
		idsOf := func(vs []Vulnerability) []string {
			var out []string
			for _, v := range vs {
				out = append(out, v.ID)
			}
			return out
		}
		for _, tc := range []struct {
			o    ListOptions
			want []string
		}{
			{ListOptions{Sort: "id"}, []string{"CVE-1", "CVE-2", "CVE-3", "CVE-4"}},
			{ListOptions{Sort: "assets", Desc: true}, []string{"CVE-1", "CVE-4", "CVE-3", "CVE-2"}},
			{ListOptions{Desc: true, Filter: map[string]string{"severity": "critical,medium"}}, []string{"CVE-1", "CVE-2"}},
			{ListOptions{Desc: true, Filter: map[string]string{"status": "new,open,reopened"}}, []string{"CVE-1", "CVE-4"}},
			{ListOptions{Desc: true, Filter: map[string]string{"asset_id": "h1"}}, []string{"CVE-1", "CVE-2", "CVE-3"}},
			{ListOptions{Desc: true, Filter: map[string]string{"min_risk": "6"}}, []string{"CVE-1", "CVE-4"}},
		} {
			if got := idsOf(list(tc.o)); !cmp.Equal(got, tc.want) {
				t.Errorf("ListVulnerabilities(%+v) = %v, want %v", tc.o, got, tc.want)
			}
		}
		h2 := list(ListOptions{Desc: true, Filter: map[string]string{"asset_id": "h2"}})
		if len(h2) != 2 || h2[0].ID != "CVE-1" || h2[0].Risk != 8.2 || h2[0].Assets != 1 {
			t.Errorf("vulnerabilities of h2: %+v", h2)
		}
		for _, f := range []map[string]string{{"status": "x"}, {"severity": "x"}, {"kind": "secret"}} {
			_, err := db.ListVulnerabilities(ctx, ListOptions{Filter: f})
			wantErr(t, fmt.Sprint("ListVulnerabilities ", f), err, ErrInvalid)
		}
	})
}

// TestVulnSummary drives random assessments and acceptances and checks the
// summary ListVulnerabilities reads agrees with grouping the findings.
func TestVulnSummary(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		rng := rand.New(rand.NewPCG(1, 2))
		newAgent(t, db, "a1")
		hosts := []string{"h1", "h2", "h3", "h4"}
		for _, h := range hosts {
			newAsset(t, db, "a1", Asset{ID: h, Kind: AssetHost, Name: h})
		}
		now := t0
		for round := range 25 {
			now = now.Add(time.Hour)
			h := hosts[rng.IntN(len(hosts))]
			var cur []Finding
			for j := range 30 {
				if rng.IntN(3) == 0 {
					continue
				}
				rule := fmt.Sprintf("CVE-%d", j%12)
				pkg := fmt.Sprintf("pkg%d", j%5)
				cur = append(cur, Finding{ID: fmt.Sprintf("f-%s-%d", h, j), RuleID: rule, Package: pkg,
					Severity: severityNames[rng.IntN(5)], Risk: float64(rng.IntN(100)) / 10})
			}
			_, err := db.SyncFindings(ctx, h, "vulnerability", cur, now)
			must(t, err)
			if round%3 == 0 && len(cur) > 0 {
				var ids []string
				for range 4 {
					ids = append(ids, cur[rng.IntN(len(cur))].ID)
				}
				until := now.Add(time.Duration(rng.IntN(3)) * time.Hour)
				if rng.IntN(2) == 0 {
					until = time.Time{}
				}
				_, err := db.AcceptFindings(ctx, ids, "r", until, "u")
				must(t, err)
			}
			for _, f := range []map[string]string{
				nil,
				{"status": "new,open,reopened"},
				{"status": "accepted"},
				{"status": "fixed,accepted"},
				{"severity": "high,critical"},
				{"min_risk": "5", "status": "fixed"},
			} {
				for _, sort := range []string{"risk", "assets", "id"} {
					o := ListOptions{Filter: f, Sort: sort, Desc: true, Limit: 1000}
					fast, err := db.listVulns(ctx, o, false)
					must(t, err)
					raw, err := db.listVulns(ctx, o, true)
					must(t, err)
					if diff := cmp.Diff(raw.Items, fast.Items); diff != "" {
						t.Fatalf("round %d filter %v sort %s: summary differs from grouping (-grouping +summary):\n%s", round, f, sort, diff)
					}
				}
			}
		}
	})
}

// TestOverviewDialects runs Overview and RecordTrend on both dialects.
func TestOverviewDialects(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		findingsFixture(t, db)
		must(t, db.SetAssetRisk(ctx, "h1", 9.1))
		must(t, db.RecordTrend(ctx, at(time.Hour)))
		must(t, db.RecordTrend(ctx, at(2*time.Hour))) // the same day again
		o, err := db.Overview(ctx, at(3*time.Hour), 7)
		must(t, err)
		if o.Findings["vulnerability"]["critical"] != 2 || o.Findings["secret"]["high"] != 1 {
			t.Errorf("Overview findings = %v", o.Findings)
		}
		if o.Assets[AssetHost] != 2 || o.Agents.Total != 1 || len(o.TopAssets) != 1 || o.TopAssets[0].ID != "h1" {
			t.Errorf("Overview = %+v", o)
		}
		if len(o.Trend) != 1 || o.Trend[0].Critical != 2 || o.Trend[0].High != 1 {
			t.Errorf("Overview trend = %+v", o.Trend)
		}
	})
}
