-- MarkGone reads the ids of an agent's live assets of one kind on every
-- inventory message that lists that kind in full (each agent's periodic
-- delta). assets_agent (agent_id, kind) left gone to the table, so
-- SQLite's planner preferred assets_kind_risk (kind, gone, …) and read
-- every live asset of the kind in the fleet: at 100,000 assets that scan
-- was 40% of the server's CPU during ingest (bench/cmd/agentsim/notes.md).
-- The new index answers the query from the index alone.
DROP INDEX assets_agent;
CREATE INDEX assets_agent ON assets (agent_id, kind, gone, id);
