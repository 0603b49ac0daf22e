-- Vigil server store, SQLite dialect. Times are INTEGER microseconds since
-- the Unix epoch (UTC); JSON is TEXT; booleans are 0/1.

CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	name          TEXT    NOT NULL UNIQUE,
	role          TEXT    NOT NULL,
	password_hash TEXT    NOT NULL DEFAULT '',
	disabled      BOOLEAN NOT NULL DEFAULT FALSE,
	created_at    INTEGER NOT NULL
);
CREATE INDEX users_created ON users (created_at, id);

CREATE TABLE tokens (
	id           INTEGER PRIMARY KEY,
	user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name         TEXT    NOT NULL DEFAULT '',
	session      BOOLEAN NOT NULL DEFAULT FALSE,
	hash         BLOB    NOT NULL UNIQUE,
	scopes       TEXT    NOT NULL DEFAULT '[]',
	expires_at   INTEGER NOT NULL,
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER,
	revoked_at   INTEGER
);
CREATE INDEX tokens_created ON tokens (created_at, id);
CREATE INDEX tokens_user ON tokens (user_id, created_at, id);

CREATE TABLE audit (
	id     INTEGER PRIMARY KEY,
	time   INTEGER NOT NULL,
	actor  TEXT    NOT NULL,
	action TEXT    NOT NULL,
	target TEXT    NOT NULL DEFAULT '',
	detail TEXT,
	remote TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_time ON audit (time, id);
CREATE INDEX audit_actor ON audit (actor, time, id);
CREATE INDEX audit_action ON audit (action, time, id);
CREATE INDEX audit_target ON audit (target, time, id);

CREATE TABLE enroll_tokens (
	id         INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL,
	hash       BLOB    NOT NULL UNIQUE,
	labels     TEXT,
	expires_at INTEGER NOT NULL,
	max_uses   INTEGER NOT NULL DEFAULT 0,
	uses       INTEGER NOT NULL DEFAULT 0,
	revoked_at INTEGER,
	created_by TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL
);
CREATE INDEX enroll_tokens_created ON enroll_tokens (created_at, id);
CREATE INDEX enroll_tokens_expires ON enroll_tokens (expires_at, id);

CREATE TABLE agents (
	id             TEXT    PRIMARY KEY,
	hostname       TEXT    NOT NULL DEFAULT '',
	version        TEXT    NOT NULL DEFAULT '',
	labels         TEXT,
	asset_id       TEXT    NOT NULL DEFAULT '',
	enrolled_at    INTEGER NOT NULL,
	last_seen      INTEGER NOT NULL,
	heartbeat_ns   INTEGER NOT NULL DEFAULT 0,
	silent         BOOLEAN NOT NULL DEFAULT FALSE,
	cert_serial    TEXT    NOT NULL DEFAULT '',
	cert_not_after INTEGER NOT NULL,
	revoked_at     INTEGER,
	last_seq       INTEGER NOT NULL DEFAULT 0,
	config         TEXT,
	stats          TEXT
);
CREATE INDEX agents_hostname ON agents (hostname, id);
CREATE INDEX agents_last_seen ON agents (last_seen, id);
CREATE INDEX agents_enrolled ON agents (enrolled_at, id);

-- Every certificate issued to an agent; revocation is the agent's.
CREATE TABLE agent_certs (
	serial    TEXT    PRIMARY KEY,
	agent_id  TEXT    NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
	not_after INTEGER NOT NULL,
	issued_at INTEGER NOT NULL
);
CREATE INDEX agent_certs_agent ON agent_certs (agent_id);

CREATE TABLE assets (
	id         TEXT    PRIMARY KEY,
	kind       TEXT    NOT NULL,
	name       TEXT    NOT NULL DEFAULT '',
	agent_id   TEXT    NOT NULL DEFAULT '',
	parent_id  TEXT    NOT NULL DEFAULT '',
	os         TEXT    NOT NULL DEFAULT '',
	platform   TEXT    NOT NULL DEFAULT '',
	cloud      TEXT    NOT NULL DEFAULT '',
	region     TEXT    NOT NULL DEFAULT '',
	labels     TEXT,
	attrs      TEXT,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	gone       BOOLEAN NOT NULL DEFAULT FALSE,
	risk       REAL    NOT NULL DEFAULT 0
);
CREATE INDEX assets_name ON assets (gone, name, id);
CREATE INDEX assets_last_seen ON assets (gone, last_seen, id);
CREATE INDEX assets_first_seen ON assets (gone, first_seen, id);
CREATE INDEX assets_risk ON assets (gone, risk, id);
CREATE INDEX assets_kind ON assets (kind, gone, name, id);
CREATE INDEX assets_agent ON assets (agent_id, kind);
CREATE INDEX assets_parent ON assets (parent_id, gone, name, id);

CREATE TABLE packages (
	asset_id  TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
	id        TEXT NOT NULL,
	name      TEXT NOT NULL,
	version   TEXT NOT NULL DEFAULT '',
	ecosystem TEXT NOT NULL DEFAULT '',
	purl      TEXT NOT NULL DEFAULT '',
	data      TEXT,
	PRIMARY KEY (asset_id, id)
);
CREATE INDEX packages_asset_name ON packages (asset_id, name, id);
CREATE INDEX packages_name ON packages (name, asset_id, id);
CREATE INDEX packages_ecosystem ON packages (ecosystem, asset_id, id);
CREATE INDEX packages_purl ON packages (purl);

CREATE TABLE items (
	asset_id TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
	kind     TEXT NOT NULL,
	key      TEXT NOT NULL,
	data     TEXT,
	PRIMARY KEY (asset_id, kind, key)
);
CREATE INDEX items_kind ON items (kind, key, asset_id);

CREATE TABLE findings (
	id              TEXT    PRIMARY KEY,
	asset_id        TEXT    NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
	kind            TEXT    NOT NULL,
	package_id      TEXT    NOT NULL DEFAULT '',
	rule_id         TEXT    NOT NULL,
	severity        TEXT    NOT NULL DEFAULT 'unknown',
	sev_rank        INTEGER NOT NULL DEFAULT 0,
	risk            REAL    NOT NULL DEFAULT 0,
	title           TEXT    NOT NULL DEFAULT '',
	package         TEXT    NOT NULL DEFAULT '',
	package_version TEXT    NOT NULL DEFAULT '',
	fixed_version   TEXT    NOT NULL DEFAULT '',
	status          TEXT    NOT NULL,
	accept_reason   TEXT    NOT NULL DEFAULT '',
	accept_expires  INTEGER,
	accepted_by     TEXT    NOT NULL DEFAULT '',
	first_seen      INTEGER NOT NULL,
	last_seen       INTEGER NOT NULL,
	fixed_at        INTEGER,
	data            TEXT
);
CREATE INDEX findings_risk ON findings (risk, id);
CREATE INDEX findings_status_risk ON findings (status, risk, id);
CREATE INDEX findings_asset_risk ON findings (asset_id, risk, id);
CREATE INDEX findings_rule_risk ON findings (rule_id, risk, id);
CREATE INDEX findings_package_risk ON findings (package, risk, id);
CREATE INDEX findings_first_seen ON findings (first_seen, id);
CREATE INDEX findings_last_seen ON findings (last_seen, id);
CREATE INDEX findings_severity ON findings (sev_rank, id);
-- Covers the refresh of vuln_summary.
CREATE INDEX findings_vulns ON findings (rule_id, kind, status, asset_id, sev_rank, risk);

-- The findings of kind vulnerability grouped by rule and status class
-- (open: new, open or reopened; accepted; fixed), kept up to date by
-- SyncFindings and AcceptFindings for ListVulnerabilities.
CREATE TABLE vuln_summary (
	rule_id  TEXT    NOT NULL,
	class    TEXT    NOT NULL,
	sev_rank INTEGER NOT NULL,
	risk     REAL    NOT NULL,
	findings INTEGER NOT NULL,
	assets   INTEGER NOT NULL,
	PRIMARY KEY (rule_id, class)
);

CREATE TABLE events (
	id       INTEGER PRIMARY KEY,
	agent_id TEXT    NOT NULL DEFAULT '',
	asset_id TEXT    NOT NULL DEFAULT '',
	seq      INTEGER NOT NULL DEFAULT 0,
	time     INTEGER NOT NULL,
	kind     TEXT    NOT NULL,
	severity TEXT    NOT NULL DEFAULT '',
	data     TEXT
);
CREATE INDEX events_time ON events (time, id);
CREATE INDEX events_agent ON events (agent_id, time, id);
CREATE INDEX events_asset ON events (asset_id, time, id);
CREATE INDEX events_kind ON events (kind, time, id);

CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
