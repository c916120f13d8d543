-- The context engine, embedded: entries with their vectors, searched exactly
-- in Rust from an in-memory copy of (id, filter fields, vector) that every
-- handle keeps. Times are milliseconds since the Unix epoch.
--
-- How handles stay in step: every write bumps `context_generation.value`
-- and stamps the rows it changes (`version`) or removes (a tombstone) with
-- the new value. A handle whose copy is at generation g reads the rows and
-- tombstones stamped after g, whoever wrote them, in this process or another.
CREATE TABLE IF NOT EXISTS context_entries (
    id           TEXT    NOT NULL PRIMARY KEY,
    model        TEXT    NOT NULL,
    dimension    INTEGER NOT NULL,
    -- `dimension` little-endian f32s, unit length.
    embedding    BLOB    NOT NULL,
    content      TEXT    NOT NULL,
    agent        TEXT,
    session      TEXT,
    kind         TEXT    NOT NULL,
    -- 0 short, 1 medium, 2 long.
    tier         INTEGER NOT NULL,
    importance   REAL    NOT NULL,
    pinned       INTEGER NOT NULL,
    -- A serialised JSON object.
    metadata     TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    accessed_at  INTEGER NOT NULL,
    access_count INTEGER NOT NULL DEFAULT 0,
    -- The generation of the last write that changed what searches filter on.
    version      INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS context_entries_version
    ON context_entries (model, version);
CREATE INDEX IF NOT EXISTS context_entries_created
    ON context_entries (model, created_at, id);
CREATE INDEX IF NOT EXISTS context_entries_accessed
    ON context_entries (model, tier, accessed_at);

CREATE TABLE IF NOT EXISTS context_tombstones (
    version INTEGER NOT NULL,
    id      TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS context_tombstones_version
    ON context_tombstones (version);

-- One row. `pruned_below`: tombstones older than this were deleted, so a
-- copy older than it must be rebuilt from scratch.
CREATE TABLE IF NOT EXISTS context_generation (
    id           INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    value        INTEGER NOT NULL,
    pruned_below INTEGER NOT NULL
);
INSERT OR IGNORE INTO context_generation (id, value, pruned_below) VALUES (1, 0, 0);
