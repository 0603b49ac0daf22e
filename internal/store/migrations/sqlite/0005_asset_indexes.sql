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

-- The label filter (label=key=value) reads asset_labels, one row per
-- label of each asset kept by triggers, instead of testing the JSON of
-- every asset in the sort order (PostgreSQL has a GIN index on labels).
CREATE TABLE asset_labels (
	key      TEXT NOT NULL,
	value    TEXT NOT NULL,
	asset_id TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
	PRIMARY KEY (key, value, asset_id)
) WITHOUT ROWID;
CREATE INDEX asset_labels_asset ON asset_labels (asset_id);
INSERT INTO asset_labels (key, value, asset_id)
	SELECT j.key, j.value, a.id FROM assets a, json_each(a.labels) j WHERE a.labels IS NOT NULL AND j.type = 'text';
-- (A trigger's inner statements end mid-line: migrations are split into
-- statements at lines ending with ";".)
CREATE TRIGGER assets_labels_insert AFTER INSERT ON assets WHEN NEW.labels IS NOT NULL BEGIN
	INSERT INTO asset_labels (key, value, asset_id)
		SELECT j.key, j.value, NEW.id FROM json_each(NEW.labels) j WHERE j.type = 'text'; END;
CREATE TRIGGER assets_labels_update AFTER UPDATE OF labels ON assets WHEN OLD.labels IS NOT NEW.labels BEGIN
	DELETE FROM asset_labels WHERE asset_id = OLD.id; INSERT INTO asset_labels (key, value, asset_id)
		SELECT j.key, j.value, NEW.id FROM json_each(NEW.labels) j WHERE NEW.labels IS NOT NULL AND j.type = 'text'; END;
