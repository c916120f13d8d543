-- The context engine on Postgres with pgvector. Kept apart from
-- migrations/postgres (the queue and the history) because it needs the
-- `vector` extension, which a queue-only Postgres may lack; its versions
-- start at 1001 so both sets share sqlx's bookkeeping table.
--
-- `embedding` has no fixed dimension: each model's vectors keep their true
-- dimension (recorded in `dimension`, checked below), and each model gets
-- its own partial HNSW index over `embedding::vector(<dimension>)`, made
-- when a store first opens that model (see context/postgres/mod.rs).
-- Times are milliseconds since the Unix epoch, as in the queue.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE IF NOT EXISTS context_entries (
    id           UUID     NOT NULL PRIMARY KEY,
    model        TEXT     NOT NULL,
    dimension    INTEGER  NOT NULL,
    -- Unit length: inner product ranks as cosine similarity.
    embedding    vector   NOT NULL,
    content      TEXT     NOT NULL,
    agent        TEXT,
    session      TEXT,
    kind         TEXT     NOT NULL,
    -- 0 short, 1 medium, 2 long.
    tier         SMALLINT NOT NULL,
    importance   REAL     NOT NULL,
    pinned       BOOLEAN  NOT NULL,
    metadata     JSONB    NOT NULL,
    created_at   BIGINT   NOT NULL,
    accessed_at  BIGINT   NOT NULL,
    access_count BIGINT   NOT NULL DEFAULT 0,
    CONSTRAINT context_entries_dimension CHECK (vector_dims(embedding) = dimension)
);

-- Filtered searches with few matches, lists and counts read these instead
-- of the vector index.
CREATE INDEX IF NOT EXISTS context_entries_agent
    ON context_entries (model, agent, created_at);
CREATE INDEX IF NOT EXISTS context_entries_session
    ON context_entries (model, session, created_at);
CREATE INDEX IF NOT EXISTS context_entries_created
    ON context_entries (model, created_at, id);
CREATE INDEX IF NOT EXISTS context_entries_accessed
    ON context_entries (model, tier, accessed_at);
