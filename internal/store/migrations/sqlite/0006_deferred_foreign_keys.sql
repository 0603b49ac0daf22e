-- Package and item rows check their asset at commit, not per statement.
-- An immediate foreign key makes SQLite keep a statement journal for every
-- multi-row insert (a copy of each page the statement touches): about a
-- fifth of the server's CPU while a fleet sends its first inventories.
-- Ingest checks that an asset exists before writing under it, so the
-- deferred check is a safety net. SQLite cannot alter a constraint: the
-- two tables are rebuilt (their columns, keys and indexes unchanged).
CREATE TABLE packages_new (
	asset_id  TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
	id        TEXT NOT NULL,
	name      TEXT NOT NULL,
	version   TEXT NOT NULL DEFAULT '',
	ecosystem TEXT NOT NULL DEFAULT '',
	purl      TEXT NOT NULL DEFAULT '',
	data      TEXT,
	PRIMARY KEY (asset_id, id)
);
INSERT INTO packages_new (asset_id, id, name, version, ecosystem, purl, data)
	SELECT asset_id, id, name, version, ecosystem, purl, data FROM packages;
DROP TABLE packages;
ALTER TABLE packages_new RENAME TO packages;
CREATE INDEX packages_asset_name ON packages (asset_id, name, id);
CREATE INDEX packages_name ON packages (name, asset_id, id);
CREATE INDEX packages_ecosystem ON packages (ecosystem, asset_id, id);
CREATE INDEX packages_purl ON packages (purl);

CREATE TABLE items_new (
	asset_id TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
	kind     TEXT NOT NULL,
	key      TEXT NOT NULL,
	data     TEXT,
	PRIMARY KEY (asset_id, kind, key)
);
INSERT INTO items_new (asset_id, kind, key, data) SELECT asset_id, kind, key, data FROM items;
DROP TABLE items;
ALTER TABLE items_new RENAME TO items;
CREATE INDEX items_kind ON items (kind, key, asset_id);
