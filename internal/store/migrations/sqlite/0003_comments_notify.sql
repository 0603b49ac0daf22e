-- Analysts' comments on findings, and the record of their status changes
-- (status is the status set, '' for a plain comment).
CREATE TABLE finding_comments (
	id         INTEGER PRIMARY KEY,
	finding_id TEXT    NOT NULL REFERENCES findings (id) ON DELETE CASCADE,
	author     TEXT    NOT NULL,
	text       TEXT    NOT NULL,
	status     TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL
);
CREATE INDEX finding_comments_finding ON finding_comments (finding_id, created_at, id);
CREATE INDEX finding_comments_created ON finding_comments (created_at, id);

-- Notification channels: where new findings and agent silences are sent.
-- config is the kind's JSON settings (URLs, SMTP, signing secrets); it
-- never leaves the server through the API.
CREATE TABLE notification_channels (
	id           INTEGER PRIMARY KEY,
	name         TEXT    NOT NULL UNIQUE,
	kind         TEXT    NOT NULL,
	config       TEXT    NOT NULL,
	min_severity TEXT    NOT NULL DEFAULT 'high',
	min_rank     INTEGER NOT NULL DEFAULT 3,
	enabled      BOOLEAN NOT NULL DEFAULT TRUE,
	created_by   TEXT    NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	last_sent_at INTEGER,
	last_error   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX notification_channels_created ON notification_channels (created_at, id);
CREATE INDEX notification_channels_name ON notification_channels (name, id);
