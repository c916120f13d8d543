-- Message history on Postgres: a queryable record of what went through the
-- broker (by topic, by agent, by conversation), kept apart from the broker's
-- own log so the broker's retention never touches it. One row per message
-- id. Times are milliseconds since the Unix epoch, as in the queue.
--
-- Many processes run this migration at once: sqlx's migrator serialises them
-- with an advisory lock, and every statement is idempotent besides.

CREATE TABLE IF NOT EXISTS message_history (
    id             UUID    NOT NULL PRIMARY KEY,
    -- "C" collation: byte order, so a wildcard pattern's literal prefix is a
    -- plain index range (`topic >= 'agent.' AND topic < 'agent/'`), whatever
    -- the database's default collation.
    topic          TEXT    COLLATE "C" NOT NULL,
    from_agent     TEXT,
    to_agent       TEXT,
    kind           TEXT    NOT NULL,
    correlation_id UUID,
    payload        JSONB   NOT NULL,
    headers        JSONB   NOT NULL,
    -- The message's own timestamp (the publisher's clock).
    created_at     BIGINT  NOT NULL,
    -- The message's offset in its topic, as the broker numbered it.
    topic_offset   BIGINT  NOT NULL,
    -- When the broker stored it: history's order and time filters use this.
    published_at   BIGINT  NOT NULL
);

-- Every lookup is "these rows, in (published_at, id) order", so each index
-- ends with that order and a query reads the first rows of one range.
CREATE INDEX IF NOT EXISTS message_history_topic
    ON message_history (topic, published_at, id);
CREATE INDEX IF NOT EXISTS message_history_from
    ON message_history (from_agent, published_at, id) WHERE from_agent IS NOT NULL;
CREATE INDEX IF NOT EXISTS message_history_to
    ON message_history (to_agent, published_at, id) WHERE to_agent IS NOT NULL;
CREATE INDEX IF NOT EXISTS message_history_correlation
    ON message_history (correlation_id, published_at, id) WHERE correlation_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS message_history_published
    ON message_history (published_at, id);
