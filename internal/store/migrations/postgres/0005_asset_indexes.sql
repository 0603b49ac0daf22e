-- Indexes for the asset lists the API serves at 100,000 assets during
-- ingest (bench/BACKBONE.md). Each exact-match filter (agent_id,
-- parent_id, kind, os, cloud, region) leads an index followed by gone and
-- a keyset order (sort value, id), so a filtered page is a range of one
-- index read in order and stops at the page size, instead of a scan of
-- the sort index testing every row. kind, the filter of most pages, has
-- one per sort key; the others the default order (name), which narrows
-- any other sort to the filter's rows.
--
-- assets_agent (agent_id, kind) stays for MarkGone; assets_parent
-- (parent_id, gone, name, id) and assets_kind (kind, gone, name, id)
-- exist since 0001. The store runs a full ANALYZE after migrations.
CREATE INDEX assets_agent_name ON assets (agent_id, gone, name, id);
CREATE INDEX assets_os ON assets (os, gone, name, id);
CREATE INDEX assets_cloud ON assets (cloud, gone, name, id);
CREATE INDEX assets_region ON assets (region, gone, name, id);
CREATE INDEX assets_kind_last_seen ON assets (kind, gone, last_seen, id);
CREATE INDEX assets_kind_first_seen ON assets (kind, gone, first_seen, id);
CREATE INDEX assets_kind_risk ON assets (kind, gone, risk, id);
