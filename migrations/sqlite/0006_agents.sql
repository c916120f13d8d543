-- The agent registry, embedded: one row per registered agent (a restarted
-- agent registers again and gets a new id). Times are milliseconds since
-- the Unix epoch. Capabilities are a JSON array, sorted, without
-- duplicates. A name is held by at most one live agent (starting, healthy
-- or unhealthy); dead and stopped agents keep their rows for history.
CREATE TABLE IF NOT EXISTS agents (
    id             TEXT    NOT NULL PRIMARY KEY,
    name           TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    capabilities   TEXT    NOT NULL,
    -- 'healthy', 'unhealthy', 'dead' or 'stopped'.
    status         TEXT    NOT NULL,
    load           INTEGER NOT NULL,
    metadata       TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    last_heartbeat INTEGER NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS agents_live_name
    ON agents (name) WHERE status IN ('healthy', 'unhealthy');
CREATE INDEX IF NOT EXISTS agents_heartbeat
    ON agents (status, last_heartbeat);
