-- The prompt registry (`prompt::PromptRegistry`): immutable versions,
-- labels pointing at them, and every move of a label.
CREATE TABLE IF NOT EXISTS hive_prompt_versions (
    id          TEXT PRIMARY KEY,
    agent       TEXT NOT NULL,
    text        TEXT NOT NULL,
    parent      TEXT,
    author      TEXT NOT NULL,
    author_kind TEXT NOT NULL,
    rationale   TEXT,
    hash        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (agent, hash)
);
CREATE TABLE IF NOT EXISTS hive_prompt_labels (
    agent      TEXT NOT NULL,
    name       TEXT NOT NULL,
    version    TEXT NOT NULL,
    protected  BIGINT NOT NULL,
    moves      BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (agent, name)
);
CREATE TABLE IF NOT EXISTS hive_prompt_label_moves (
    agent        TEXT NOT NULL,
    name         TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    from_version TEXT,
    to_version   TEXT NOT NULL,
    moved_by     TEXT NOT NULL,
    approved_by  TEXT,
    reason       TEXT,
    at           BIGINT NOT NULL,
    PRIMARY KEY (agent, name, seq)
);
