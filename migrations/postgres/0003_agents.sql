-- The agent registry on Postgres: one row per registered agent (a restarted
-- agent registers again and gets a new id), shared by every process. Times
-- are milliseconds since the Unix epoch, as in the queue. A name is held by
-- at most one live agent; dead and stopped agents keep their rows.
CREATE TABLE IF NOT EXISTS agents (
    id             UUID    NOT NULL PRIMARY KEY,
    name           TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    -- Sorted, without duplicates.
    capabilities   TEXT[]  NOT NULL,
    -- 'healthy', 'unhealthy', 'dead' or 'stopped'.
    status         TEXT    NOT NULL,
    load           BIGINT  NOT NULL,
    metadata       JSONB   NOT NULL,
    created_at     BIGINT  NOT NULL,
    last_heartbeat BIGINT  NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS agents_live_name
    ON agents (name) WHERE status IN ('healthy', 'unhealthy');
CREATE INDEX IF NOT EXISTS agents_heartbeat
    ON agents (status, last_heartbeat);
-- "Which healthy agents hold all of these capabilities": `@>` on an array.
CREATE INDEX IF NOT EXISTS agents_capabilities
    ON agents USING gin (capabilities);
