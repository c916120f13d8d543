-- The prompt registry (`prompt::PromptRegistry`): immutable versions,
-- labels pointing at them, and every move of a label.
CREATE TABLE IF NOT EXISTS hive_prompt_versions (
    id          TEXT PRIMARY KEY NOT NULL,
    agent       TEXT NOT NULL,
    text        TEXT NOT NULL,
    parent      TEXT,
    author      TEXT NOT NULL,
    author_kind TEXT NOT NULL,
    rationale   TEXT,
    hash        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (agent, hash)
);
CREATE TABLE IF NOT EXISTS hive_prompt_labels (
    agent      TEXT NOT NULL,
    name       TEXT NOT NULL,
    version    TEXT NOT NULL,
    protected  INTEGER NOT NULL,
    moves      INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (agent, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hive_prompt_label_moves (
    agent        TEXT NOT NULL,
    name         TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    from_version TEXT,
    to_version   TEXT NOT NULL,
    moved_by     TEXT NOT NULL,
    approved_by  TEXT,
    reason       TEXT,
    at           INTEGER NOT NULL,
    PRIMARY KEY (agent, name, seq)
) WITHOUT ROWID;
