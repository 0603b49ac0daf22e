-- One row per day, finding kind and severity: the open findings counted
-- when the day was recorded (RecordTrend). The overview's trend chart.
CREATE TABLE trends (
	day      TEXT    NOT NULL,
	kind     TEXT    NOT NULL,
	severity TEXT    NOT NULL,
	open     INTEGER NOT NULL,
	PRIMARY KEY (day, kind, severity)
);
