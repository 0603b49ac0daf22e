-- Indexes for the console at scale (bench/CONSOLE.md: 100,000 assets and
-- 1,000,000 findings).
--
-- Two indexes of 0001 get more columns. Their leading columns, and so
-- every plan that used them, stay the same: new indexes led by status or
-- kind would look selective under the store's sampled statistics
-- (analysis_limit) and move other lists off their sort index.
--
-- findings_status_risk also covers the grouping of ListVulnerabilities
-- under a status filter other than whole classes (kind, rule_id,
-- asset_id, sev_rank, risk) and the open-finding counts of the overview
-- and the trend (kind, severity): they read the index, not every
-- finding's row.
DROP INDEX findings_status_risk;
CREATE INDEX findings_status_risk ON findings (status, risk, id, kind, severity, rule_id, asset_id, sev_rank);

-- findings_risk carries kind, so a kind filter in the default (risk)
-- order is tested in the index, not on each finding's row.
DROP INDEX findings_risk;
CREATE INDEX findings_risk ON findings (risk, id, kind);

-- The open findings by kind and severity, in that order: the overview's
-- and RecordTrend's counts (the query's WHERE must stay exactly this for
-- the index to apply). Only queries naming the index or with accurate
-- statistics use it; the lists, whose status values are bound
-- parameters, never do.
CREATE INDEX findings_open_counts ON findings (kind, severity) WHERE status IN ('new', 'open', 'reopened');
