package store

import (
	"context"
	"fmt"
	"slices"
	"sort"
)

var vulnsList = &listDef{
	tag: "vulnerabilities",
	sorts: map[string]column{
		"risk":   {"risk", kFloat},
		"assets": {"assets", kInt},
		"id":     {"id", kString},
	},
	def:  "risk",
	ties: []column{{"id", kString}},
	filters: map[string]filterFn{
		"severity": fSeverityRank("sev_rank"),
		"min_risk": fMin("risk"),
		"status":   nil, // inside the grouping, below
		"asset_id": nil,
	},
}

// fSeverityRank matches severity names (enumerated) on a rank column.
func fSeverityRank(col string) filterFn {
	return func(w *where, v string) error {
		names := splitList(v)
		if len(names) == 0 {
			return invalidf("empty severity")
		}
		var ranks []any
		for _, n := range names {
			r := slices.Index(severityNames, n)
			if r < 0 {
				return invalidf("severity %q", n)
			}
			ranks = append(ranks, r)
		}
		w.add(col+" IN ("+marks(len(ranks))+")", ranks...)
		return nil
	}
}

// refreshVulnSummary recomputes the vuln_summary rows of the rules from
// their findings.
func refreshVulnSummary(ctx context.Context, c conn, rules map[string]bool) error {
	if len(rules) == 0 {
		return nil
	}
	ids := make([]string, 0, len(rules))
	for r := range rules {
		ids = append(ids, r)
	}
	sort.Strings(ids)
	const per = 500
	for start := 0; start < len(ids); start += per {
		chunk := ids[start:min(start+per, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		if _, err := c.exec(ctx, `DELETE FROM vuln_summary WHERE rule_id IN (`+marks(len(chunk))+`)`, args...); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `INSERT INTO vuln_summary (rule_id, class, sev_rank, risk, findings, assets)
			SELECT rule_id, `+statusClassSQL+`, MAX(sev_rank), MAX(risk), COUNT(*), COUNT(DISTINCT asset_id)
			FROM findings WHERE kind = 'vulnerability' AND rule_id IN (`+marks(len(chunk))+`)
			GROUP BY rule_id, `+statusClassSQL, args...); err != nil {
			return err
		}
	}
	return nil
}

// ListVulnerabilities groups findings of kind vulnerability by RuleID.
// Filters: severity (enumerated; the group's highest), status (counts
// only findings with it), asset_id (counts only that asset's findings),
// min_risk (the group's highest); sorts: risk (default), assets, id.
//
// Without asset_id, and with no status filter or one naming whole classes
// (new,open,reopened / accepted / fixed), the list reads the summary
// SyncFindings keeps; other status filters group every vulnerability
// finding and are slower on large stores.
func (db *DB) ListVulnerabilities(ctx context.Context, o ListOptions) (Page[Vulnerability], error) {
	return db.listVulns(ctx, o, false)
}

func (db *DB) listVulns(ctx context.Context, o ListOptions, forceRaw bool) (Page[Vulnerability], error) {
	var status []string
	if v, ok := o.Filter["status"]; ok {
		status = splitList(v)
		if len(status) == 0 {
			return Page[Vulnerability]{}, invalidf("empty status")
		}
		for _, s := range status {
			if !slices.Contains(statuses, s) {
				return Page[Vulnerability]{}, invalidf("status %q (want one of new, open, fixed, reopened, accepted)", s)
			}
		}
	}
	assetID, byAsset := o.Filter["asset_id"]

	// Findings-level conditions (the page query applies them too).
	inner := &where{db: db}
	inner.add("kind = ?", vulnKind)
	if status != nil {
		inner.in("status", status)
	}
	if byAsset {
		inner.add("asset_id = ?", assetID)
	}

	classes, whole := wholeClasses(status)
	var q query[Vulnerability]
	dests := func(v *Vulnerability) []any {
		return []any{&v.ID, severityDest{&v.Severity}, &v.Risk, &v.Assets, &v.Open, &v.Accepted, &v.Fixed}
	}
	if whole && !byAsset && !forceRaw {
		w := &where{db: db}
		if status != nil {
			w.in("class", classes)
		}
		q = query[Vulnerability]{
			cols: "id, sev_rank, risk, assets, n_open, n_accepted, n_fixed",
			from: `(SELECT rule_id AS id, MAX(sev_rank) AS sev_rank, MAX(risk) AS risk,
				CAST(SUM(CASE WHEN class = 'open' THEN assets ELSE 0 END) AS BIGINT) AS assets,
				CAST(SUM(CASE WHEN class = 'open' THEN findings ELSE 0 END) AS BIGINT) AS n_open,
				CAST(SUM(CASE WHEN class = 'accepted' THEN findings ELSE 0 END) AS BIGINT) AS n_accepted,
				CAST(SUM(CASE WHEN class = 'fixed' THEN findings ELSE 0 END) AS BIGINT) AS n_fixed
				FROM vuln_summary` + w.sql() + ` GROUP BY rule_id) v`,
			fromArgs: w.args, dests: dests,
		}
	} else {
		open := "status IN ('new', 'open', 'reopened')"
		q = query[Vulnerability]{
			cols: "id, sev_rank, risk, assets, n_open, n_accepted, n_fixed",
			from: `(SELECT rule_id AS id, MAX(sev_rank) AS sev_rank, MAX(risk) AS risk,
				COUNT(DISTINCT CASE WHEN ` + open + ` THEN asset_id END) AS assets,
				SUM(CASE WHEN ` + open + ` THEN 1 ELSE 0 END) AS n_open,
				SUM(CASE WHEN status = 'accepted' THEN 1 ELSE 0 END) AS n_accepted,
				SUM(CASE WHEN status = 'fixed' THEN 1 ELSE 0 END) AS n_fixed
				FROM findings` + inner.sql() + ` GROUP BY rule_id) v`,
			fromArgs: inner.args, dests: dests,
		}
	}
	page, err := list(ctx, db, vulnsList, o, q, nil)
	if err != nil || len(page.Items) == 0 {
		return page, err
	}

	// Titles and package counts for the page only.
	pw := &where{db: db, conds: slices.Clone(inner.conds), args: slices.Clone(inner.args)}
	ids := make([]string, len(page.Items))
	for i, v := range page.Items {
		ids[i] = v.ID
	}
	pw.in("rule_id", ids)
	rows, err := db.reader().query(ctx, `SELECT rule_id, MAX(title), COUNT(DISTINCT NULLIF(package, '')) FROM findings`+pw.sql()+` GROUP BY rule_id`, pw.args...)
	if err != nil {
		return Page[Vulnerability]{}, fmt.Errorf("store: vulnerability titles: %w", err)
	}
	defer rows.Close()
	type extra struct {
		title    string
		packages int
	}
	extras := map[string]extra{}
	for rows.Next() {
		var id string
		var e extra
		if err := rows.Scan(&id, &e.title, &e.packages); err != nil {
			return Page[Vulnerability]{}, fmt.Errorf("store: vulnerability titles: %w", err)
		}
		extras[id] = e
	}
	if err := rows.Err(); err != nil {
		return Page[Vulnerability]{}, fmt.Errorf("store: vulnerability titles: %w", err)
	}
	for i := range page.Items {
		e := extras[page.Items[i].ID]
		page.Items[i].Title, page.Items[i].Packages = e.title, e.packages
	}
	return page, nil
}

// wholeClasses returns the summary classes a status filter names and
// whether it names only whole classes (nil: every class).
func wholeClasses(status []string) ([]string, bool) {
	if status == nil {
		return nil, true
	}
	openCount := 0
	var classes []string
	for _, s := range status {
		switch s {
		case StatusNew, StatusOpen, StatusReopened:
			openCount++
		default:
			classes = append(classes, s)
		}
	}
	switch openCount {
	case 0:
		return classes, true
	case 3:
		return append(classes, StatusOpen), true
	}
	return nil, false
}

// severityDest scans a severity rank into its name.
type severityDest struct{ s *string }

func (d severityDest) Scan(v any) error {
	n, ok := v.(int64)
	if !ok || n < 0 || int(n) >= len(severityNames) {
		return fmt.Errorf("store: severity rank %v", v)
	}
	*d.s = severityNames[n]
	return nil
}
