-- Indexes for the console at scale (bench/CONSOLE.md); the same changes
-- as the SQLite migration.
--
-- findings_status_risk keeps its keys and also covers the grouping of
-- ListVulnerabilities under a status filter other than whole classes and
-- the open-finding counts of the overview and the trend (index-only
-- scans).
DROP INDEX findings_status_risk;
CREATE INDEX findings_status_risk ON findings (status, risk, id) INCLUDE (kind, severity, rule_id, asset_id, sev_rank);

-- findings_risk carries kind, for a kind filter in the default order.
DROP INDEX findings_risk;
CREATE INDEX findings_risk ON findings (risk, id) INCLUDE (kind);

-- The open findings by kind and severity: the overview's and
-- RecordTrend's counts (the query's WHERE must stay exactly this).
CREATE INDEX findings_open_counts ON findings (kind, severity) WHERE status IN ('new', 'open', 'reopened');
