package store

import (
	"context"
	"fmt"
	"time"
)

// Overview is the state of everything at a glance: open findings by kind
// and severity, live assets by kind, agents by status, the riskiest assets
// and the open-finding trend.
type Overview struct {
	// Findings counts findings new, open or reopened: kind → severity → n.
	Findings map[string]map[string]int `json:"findings"`
	// Assets counts assets not gone, by kind.
	Assets map[string]int `json:"assets"`
	Agents AgentCounts    `json:"agents"`
	// TopAssets are the live assets with the highest risk, highest first.
	TopAssets []Asset `json:"topAssets"`
	// Trend is the open vulnerability findings per day and severity, oldest
	// first, from the days RecordTrend ran.
	Trend []TrendPoint `json:"trend"`
}

// AgentCounts counts agents by status. Online agents are neither silent
// nor revoked.
type AgentCounts struct {
	Total   int `json:"total"`
	Online  int `json:"online"`
	Silent  int `json:"silent"`
	Revoked int `json:"revoked"`
}

// TrendPoint is one day of the trend: open findings by severity.
type TrendPoint struct {
	Day      string `json:"day"` // YYYY-MM-DD (UTC)
	Critical int    `json:"critical"`
	High     int    `json:"high"`
	Medium   int    `json:"medium"`
	Low      int    `json:"low"`
	Unknown  int    `json:"unknown"`
}

// openCounts counts open findings by kind and severity.
func (db *DB) openCounts(ctx context.Context, c conn) (map[string]map[string]int, error) {
	// On SQLite the partial index findings_open_counts is named: the
	// planner prefers the covering findings_status_risk even with exact
	// statistics (0.95 s at 1,000,000 findings against 0.2 s,
	// bench/CONSOLE.md). The WHERE must stay the index's own.
	from := "findings"
	if !db.pg() {
		from = "findings INDEXED BY findings_open_counts"
	}
	rows, err := c.query(ctx, `SELECT kind, severity, COUNT(*) FROM `+from+`
		WHERE status IN ('new', 'open', 'reopened') GROUP BY kind, severity`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]map[string]int{}
	for rows.Next() {
		var kind, sev string
		var n int
		if err := rows.Scan(&kind, &sev, &n); err != nil {
			return nil, err
		}
		if out[kind] == nil {
			out[kind] = map[string]int{}
		}
		out[kind][sev] = n
	}
	return out, db.mapErr(rows.Err())
}

// Overview computes the overview; the trend covers the days since
// now minus days.
func (db *DB) Overview(ctx context.Context, now time.Time, days int) (Overview, error) {
	c := db.reader()
	var o Overview
	var err error
	if o.Findings, err = db.openCounts(ctx, c); err != nil {
		return o, fmt.Errorf("store: overview: %w", err)
	}
	o.Assets = map[string]int{}
	rows, err := c.query(ctx, `SELECT kind, COUNT(*) FROM assets WHERE gone = ? GROUP BY kind`, false)
	if err != nil {
		return o, fmt.Errorf("store: overview: %w", err)
	}
	for rows.Next() {
		var kind string
		var n int
		if err := rows.Scan(&kind, &n); err != nil {
			rows.Close()
			return o, err
		}
		o.Assets[kind] = n
	}
	rows.Close()
	if err := c.row(ctx, []any{&o.Agents.Total, &o.Agents.Silent, &o.Agents.Revoked},
		`SELECT COUNT(*),
			COALESCE(SUM(CASE WHEN silent = ? AND revoked_at IS NULL THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN revoked_at IS NOT NULL THEN 1 ELSE 0 END), 0)
		FROM agents`, true); err != nil {
		return o, fmt.Errorf("store: overview: agents: %w", err)
	}
	o.Agents.Online = o.Agents.Total - o.Agents.Silent - o.Agents.Revoked
	top, err := db.ListAssets(ctx, ListOptions{Sort: "risk", Desc: true, Limit: 10, Filter: map[string]string{"min_risk": "0.01"}})
	if err != nil {
		return o, err
	}
	o.TopAssets = top.Items
	if o.TopAssets == nil {
		o.TopAssets = []Asset{}
	}
	since := now.UTC().AddDate(0, 0, -days).Format(time.DateOnly)
	rows, err = c.query(ctx, `SELECT day, severity, open FROM trends WHERE kind = 'vulnerability' AND day >= ? ORDER BY day`, since)
	if err != nil {
		return o, fmt.Errorf("store: overview: trend: %w", err)
	}
	defer rows.Close()
	o.Trend = []TrendPoint{}
	for rows.Next() {
		var day, sev string
		var n int
		if err := rows.Scan(&day, &sev, &n); err != nil {
			return o, err
		}
		if len(o.Trend) == 0 || o.Trend[len(o.Trend)-1].Day != day {
			o.Trend = append(o.Trend, TrendPoint{Day: day})
		}
		p := &o.Trend[len(o.Trend)-1]
		switch sev {
		case "critical":
			p.Critical = n
		case "high":
			p.High = n
		case "medium":
			p.Medium = n
		case "low":
			p.Low = n
		default:
			p.Unknown += n
		}
	}
	return o, db.mapErr(rows.Err())
}

// RecordTrend stores today's open-finding counts (UTC day of now),
// replacing an earlier record of the same day.
func (db *DB) RecordTrend(ctx context.Context, now time.Time) error {
	day := now.UTC().Format(time.DateOnly)
	return db.tx(ctx, func(c conn) error {
		counts, err := db.openCounts(ctx, c)
		if err != nil {
			return err
		}
		if _, err := c.exec(ctx, `DELETE FROM trends WHERE day = ?`, day); err != nil {
			return err
		}
		for kind, bySev := range counts {
			for sev, n := range bySev {
				if _, err := c.exec(ctx, `INSERT INTO trends (day, kind, severity, open) VALUES (?, ?, ?, ?)`, day, kind, sev, n); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
