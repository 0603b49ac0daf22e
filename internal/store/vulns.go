package store

import (
	"context"
	"fmt"
	"slices"
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

// ListVulnerabilities groups findings of kind vulnerability by RuleID.
// Filters: severity (enumerated; the group's highest), status (counts
// only findings with it), asset_id (counts only that asset's findings),
// min_risk (the group's highest); sorts: risk (default), assets, id.
func (db *DB) ListVulnerabilities(ctx context.Context, o ListOptions) (Page[Vulnerability], error) {
	inner := &where{db: db}
	inner.add("kind = ?", "vulnerability")
	if v, ok := o.Filter["status"]; ok {
		if err := fEnum("status", statuses...)(inner, v); err != nil {
			return Page[Vulnerability]{}, err
		}
	}
	if v, ok := o.Filter["asset_id"]; ok {
		inner.add("asset_id = ?", v)
	}
	open := "status IN ('new', 'open', 'reopened')"
	from := `(SELECT rule_id AS id, MAX(sev_rank) AS sev_rank, MAX(risk) AS risk,
		COUNT(DISTINCT CASE WHEN ` + open + ` THEN asset_id END) AS assets,
		COUNT(DISTINCT NULLIF(package, '')) AS packages,
		SUM(CASE WHEN ` + open + ` THEN 1 ELSE 0 END) AS n_open,
		SUM(CASE WHEN status = 'accepted' THEN 1 ELSE 0 END) AS n_accepted,
		SUM(CASE WHEN status = 'fixed' THEN 1 ELSE 0 END) AS n_fixed
		FROM findings` + inner.sql() + ` GROUP BY rule_id) v`
	q := query[Vulnerability]{
		cols: "id, sev_rank, risk, assets, packages, n_open, n_accepted, n_fixed", from: from, fromArgs: inner.args,
		dests: func(v *Vulnerability) []any {
			return []any{&v.ID, severityDest{&v.Severity}, &v.Risk, &v.Assets, &v.Packages, &v.Open, &v.Accepted, &v.Fixed}
		},
	}
	page, err := list(ctx, db, vulnsList, o, q, nil)
	if err != nil || len(page.Items) == 0 {
		return page, err
	}
	// Titles for the page only.
	ids := make([]any, len(page.Items))
	for i, v := range page.Items {
		ids[i] = v.ID
	}
	rows, err := db.reader().query(ctx, `SELECT rule_id, MAX(title) FROM findings
		WHERE kind = 'vulnerability' AND rule_id IN (`+marks(len(ids))+`) GROUP BY rule_id`, ids...)
	if err != nil {
		return Page[Vulnerability]{}, fmt.Errorf("store: vulnerability titles: %w", err)
	}
	defer rows.Close()
	titles := map[string]string{}
	for rows.Next() {
		var id, title string
		if err := rows.Scan(&id, &title); err != nil {
			return Page[Vulnerability]{}, fmt.Errorf("store: vulnerability titles: %w", err)
		}
		titles[id] = title
	}
	if err := rows.Err(); err != nil {
		return Page[Vulnerability]{}, fmt.Errorf("store: vulnerability titles: %w", err)
	}
	for i := range page.Items {
		page.Items[i].Title = titles[page.Items[i].ID]
	}
	return page, nil
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
