package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-sec/vigil/internal/finding"
)

// statuses lists the finding statuses; openStatuses those of a finding
// still present and not accepted.
var (
	statuses     = []string{StatusNew, StatusOpen, StatusFixed, StatusReopened, StatusAccepted}
	openStatuses = []string{StatusNew, StatusOpen, StatusReopened}
)

// statusClass is the vuln_summary class of a status: open (new, open,
// reopened), accepted or fixed.
func statusClass(status string) string {
	switch status {
	case StatusAccepted, StatusFixed:
		return status
	}
	return StatusOpen
}

// statusClassSQL is statusClass in SQL.
const statusClassSQL = `CASE WHEN status IN ('accepted', 'fixed') THEN status ELSE 'open' END`

// severityNames are the severities from lowest to highest; a finding's
// rank is its index.
var severityNames = func() []string {
	var s []string
	for v := finding.SeverityUnknown; v <= finding.SeverityCritical; v++ {
		s = append(s, v.String())
	}
	return s
}()

// severity normalises a severity name ("" is unknown) and returns its
// rank.
func severity(s string) (string, int, error) {
	if s == "" {
		return finding.SeverityUnknown.String(), 0, nil
	}
	v, err := finding.ParseSeverity(s)
	if err != nil {
		return "", 0, invalidf("%v", err)
	}
	return v.String(), int(v), nil
}

const findingListCols = `id, asset_id, kind, package_id, rule_id, severity, risk, title, package, package_version,
	fixed_version, status, accept_reason, accept_expires, accepted_by, first_seen, last_seen, fixed_at`

func findingDests(f *Finding) []any {
	return []any{&f.ID, &f.AssetID, &f.Kind, &f.PackageID, &f.RuleID, &f.Severity, &f.Risk, &f.Title, &f.Package,
		&f.PackageVersion, &f.FixedVersion, &f.Status, &f.AcceptReason, ntimeDest{&f.AcceptExpires}, &f.AcceptedBy,
		timeDest{&f.FirstSeen}, timeDest{&f.LastSeen}, ntimeDest{&f.FixedAt}}
}

// Finding returns the finding with the id, with Data.
func (db *DB) Finding(ctx context.Context, id string) (Finding, error) {
	var f Finding
	if err := db.reader().row(ctx, append(findingDests(&f), rawDest{&f.Data}),
		`SELECT `+findingListCols+`, data FROM findings WHERE id = ?`, id); err != nil {
		return Finding{}, fmt.Errorf("store: finding %s: %w", id, err)
	}
	return f, nil
}

// SyncFindings applies one assessment of one asset for one finding kind
// at now. Each finding of current (ID and RuleID required; AssetID and
// Kind, when set, must match the arguments) becomes:
//
//   - new when never seen (FirstSeen = now);
//   - reopened when it was fixed (FixedAt and any acceptance cleared);
//   - accepted still, while AcceptExpires is unset or after now;
//     open once it has passed (counted as Expired, acceptance cleared);
//   - open otherwise: new and reopened are the statuses of the assessment
//     that saw the change, the next one makes them open (Unchanged).
//
// Findings of that asset and kind not in current become fixed (FixedAt =
// now, acceptance cleared); those already fixed stay as they are. LastSeen
// (= now), Severity, Risk, Title, Package, PackageVersion, FixedVersion
// and Data are refreshed from current. An unknown asset is ErrNotFound.
func (db *DB) SyncFindings(ctx context.Context, assetID, kind string, current []Finding, now time.Time) (FindingsSync, error) {
	if assetID == "" || kind == "" {
		return FindingsSync{}, invalidf("sync findings without an asset or kind")
	}
	now = utc(now)
	cur := make([]Finding, 0, len(current))
	index := make(map[string]int, len(current))
	for _, f := range current {
		if f.ID == "" || f.RuleID == "" {
			return FindingsSync{}, invalidf("finding without an id or rule id")
		}
		if (f.AssetID != "" && f.AssetID != assetID) || (f.Kind != "" && f.Kind != kind) {
			return FindingsSync{}, invalidf("finding %s of %s/%s synced as %s/%s", f.ID, f.AssetID, f.Kind, assetID, kind)
		}
		if f.Risk != f.Risk || f.Risk < 0 {
			return FindingsSync{}, invalidf("finding %s risk %v", f.ID, f.Risk)
		}
		if len(f.Data) > 0 && !jsonValid(f.Data) {
			return FindingsSync{}, invalidf("finding %s data is not valid JSON", f.ID)
		}
		sev, _, err := severity(f.Severity)
		if err != nil {
			return FindingsSync{}, err
		}
		f.AssetID, f.Kind, f.Severity = assetID, kind, sev
		if len(f.Data) == 0 {
			f.Data = nil
		}
		if i, ok := index[f.ID]; ok {
			cur[i] = f
			continue
		}
		index[f.ID] = len(cur)
		cur = append(cur, f)
	}

	var sum FindingsSync
	err := db.tx(ctx, func(c conn) error {
		sum = FindingsSync{}
		if err := assetExists(ctx, c, assetID); err != nil {
			return err
		}
		old, err := storedFindings(ctx, c, assetID, kind)
		if err != nil {
			return err
		}
		var write []Finding        // inserted or changed
		var touch []string         // unchanged but for LastSeen
		rules := map[string]bool{} // rules whose summary changes
		for i := range cur {
			f := &cur[i]
			e, seen := old[f.ID]
			f.FirstSeen, f.LastSeen = now, now
			switch {
			case !seen:
				f.Status = StatusNew
				sum.New++
			case e.Status == StatusFixed:
				f.Status = StatusReopened
				sum.Reopened++
			case e.Status == StatusAccepted && e.AcceptExpires != nil && !now.Before(*e.AcceptExpires):
				f.Status = StatusOpen
				sum.Expired++
			case e.Status == StatusAccepted:
				f.Status = StatusAccepted
				f.AcceptReason, f.AcceptExpires, f.AcceptedBy = e.AcceptReason, e.AcceptExpires, e.AcceptedBy
				sum.Unchanged++
			default:
				f.Status = StatusOpen
				sum.Unchanged++
			}
			if seen && sameFinding(e, *f) {
				touch = append(touch, f.ID)
				continue
			}
			write = append(write, *f)
			if !seen || statusClass(e.Status) != statusClass(f.Status) || e.Risk != f.Risk || e.Severity != f.Severity || e.RuleID != f.RuleID {
				rules[f.RuleID] = true
				if seen {
					rules[e.RuleID] = true
				}
			}
		}
		if sum.New > 0 {
			// A new ID must not be another asset's or kind's finding.
			var fresh []string
			for _, f := range write {
				if _, ok := old[f.ID]; !ok {
					fresh = append(fresh, f.ID)
				}
			}
			if err := noFindings(ctx, c, fresh); err != nil {
				return err
			}
		}
		if err := batchIn(ctx, c, `UPDATE findings SET last_seen = ? WHERE id`, "", []any{db.tv(now)}, touch); err != nil {
			return err
		}
		if err := upsertFindings(ctx, c, write); err != nil {
			return err
		}
		var fixed []string
		for id, e := range old {
			if _, ok := index[id]; !ok && e.Status != StatusFixed {
				fixed = append(fixed, id)
				rules[e.RuleID] = true
			}
		}
		sum.Fixed = len(fixed)
		if err := batchIn(ctx, c, `UPDATE findings SET status = 'fixed', fixed_at = ?, accept_reason = '',
			accept_expires = NULL, accepted_by = '' WHERE id`, "", []any{db.tv(now)}, fixed); err != nil {
			return err
		}
		if kind != vulnKind {
			return nil
		}
		return refreshVulnSummary(ctx, c, rules)
	})
	if err != nil {
		return FindingsSync{}, fmt.Errorf("store: sync %s findings of %s: %w", kind, assetID, err)
	}
	return sum, nil
}

// vulnKind is the finding kind ListVulnerabilities groups.
const vulnKind = "vulnerability"

// storedFindings returns the findings of an asset and kind by ID.
func storedFindings(ctx context.Context, c conn, assetID, kind string) (map[string]Finding, error) {
	rows, err := c.query(ctx, `SELECT `+findingListCols+`, data FROM findings WHERE asset_id = ? AND kind = ?`, assetID, kind)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]Finding{}
	for rows.Next() {
		var f Finding
		if err := rows.Scan(append(findingDests(&f), rawDest{&f.Data})...); err != nil {
			return nil, err
		}
		m[f.ID] = f
	}
	return m, rows.Err()
}

// noFindings returns ErrConflict when a finding with one of the IDs
// exists.
func noFindings(ctx context.Context, c conn, ids []string) error {
	const per = 500
	for start := 0; start < len(ids); start += per {
		chunk := ids[start:min(start+per, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		var id string
		err := c.row(ctx, []any{&id}, `SELECT id FROM findings WHERE id IN (`+marks(len(chunk))+`) LIMIT 1`, args...)
		if err == nil {
			return fmt.Errorf("%w: finding %s belongs to another asset or kind", ErrConflict, id)
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// sameFinding says whether a synced finding f leaves the stored e as it
// is but for LastSeen.
func sameFinding(e, f Finding) bool {
	return e.Status == f.Status && e.PackageID == f.PackageID && e.RuleID == f.RuleID && e.Severity == f.Severity &&
		e.Risk == f.Risk && e.Title == f.Title && e.Package == f.Package && e.PackageVersion == f.PackageVersion &&
		e.FixedVersion == f.FixedVersion && e.AcceptReason == f.AcceptReason && e.AcceptedBy == f.AcceptedBy &&
		timesEqual(e.AcceptExpires, f.AcceptExpires) && e.FixedAt == nil && string(e.Data) == string(f.Data)
}

func timesEqual(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// upsertFindings writes findings whole, keeping FirstSeen of those stored.
func upsertFindings(ctx context.Context, c conn, fs []Finding) error {
	db := c.db
	return batchInsert(ctx, c, `INSERT INTO findings (id, asset_id, kind, package_id, rule_id, severity, sev_rank, risk,
		title, package, package_version, fixed_version, status, accept_reason, accept_expires, accepted_by,
		first_seen, last_seen, fixed_at, data)`,
		` ON CONFLICT (id) DO UPDATE SET package_id = excluded.package_id, rule_id = excluded.rule_id,
		severity = excluded.severity, sev_rank = excluded.sev_rank, risk = excluded.risk, title = excluded.title,
		package = excluded.package, package_version = excluded.package_version,
		fixed_version = excluded.fixed_version, status = excluded.status, accept_reason = excluded.accept_reason,
		accept_expires = excluded.accept_expires, accepted_by = excluded.accepted_by,
		last_seen = excluded.last_seen, fixed_at = excluded.fixed_at, data = excluded.data
		WHERE findings.asset_id = excluded.asset_id AND findings.kind = excluded.kind`,
		20, len(fs), func(i int, args []any) []any {
			f := &fs[i]
			var data any
			if len(f.Data) > 0 {
				data = string(f.Data)
			}
			_, rank, _ := severity(f.Severity)
			return append(args, f.ID, f.AssetID, f.Kind, f.PackageID, f.RuleID, f.Severity, rank, f.Risk,
				f.Title, f.Package, f.PackageVersion, f.FixedVersion, f.Status, f.AcceptReason,
				db.tvp(f.AcceptExpires), f.AcceptedBy, db.tv(f.FirstSeen), db.tv(f.LastSeen), nil, data)
		})
}

var findingsList = &listDef{
	tag: "findings",
	sorts: map[string]column{
		"risk":       {"risk", kFloat},
		"first_seen": {"first_seen", kTime},
		"last_seen":  {"last_seen", kTime},
		"severity":   {"sev_rank", kInt},
	},
	def:  "risk",
	ties: []column{{"id", kString}},
	filters: map[string]filterFn{
		"asset_id": fExact("asset_id"),
		"kind":     fEnum("kind"),
		"status":   fEnum("status", statuses...),
		"severity": fEnum("severity", severityNames...),
		"rule_id":  fExact("rule_id"),
		"package":  fExact("package"),
		"min_risk": fMin("risk"),
	},
}

// ListFindings lists findings without their Data (Finding has it).
// Filters: asset_id, rule_id, package (exact), kind, status, severity
// (enumerated), min_risk; sorts: risk (default, use Desc), first_seen,
// last_seen, severity.
func (db *DB) ListFindings(ctx context.Context, o ListOptions) (Page[Finding], error) {
	return list(ctx, db, findingsList, o, query[Finding]{cols: findingListCols, from: "findings", dests: findingDests}, nil)
}

// AcceptFindings sets status accepted with reason, expiry (the zero time:
// none) and who, on every listed finding that is not fixed; it returns
// how many changed (unknown IDs are skipped).
func (db *DB) AcceptFindings(ctx context.Context, ids []string, reason string, expires time.Time, by string) (int, error) {
	var exp any
	if !expires.IsZero() {
		exp = db.tv(expires)
	}
	ids = uniq(ids)
	n := 0
	err := db.tx(ctx, func(c conn) error {
		n = 0
		rules := map[string]bool{}
		const per = 500
		for start := 0; start < len(ids); start += per {
			end := min(start+per, len(ids))
			args := []any{reason, exp, by}
			for _, id := range ids[start:end] {
				args = append(args, id)
			}
			rows, err := c.query(ctx, `UPDATE findings SET status = 'accepted', accept_reason = ?, accept_expires = ?, accepted_by = ?
				WHERE id IN (`+marks(end-start)+`) AND status <> 'fixed' RETURNING kind, rule_id`, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var kind, rule string
				if err := rows.Scan(&kind, &rule); err != nil {
					rows.Close()
					return err
				}
				n++
				if kind == vulnKind {
					rules[rule] = true
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return refreshVulnSummary(ctx, c, rules)
	})
	if err != nil {
		return 0, fmt.Errorf("store: accept findings: %w", err)
	}
	return n, nil
}

// uniq returns the distinct non-empty strings of list, in order.
func uniq(list []string) []string {
	seen := make(map[string]bool, len(list))
	out := make([]string, 0, len(list))
	for _, s := range list {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
