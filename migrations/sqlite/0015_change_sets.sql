-- The self-modifier (`selfmod::ChangeSetStore`): change sets, each as a
-- JSON body beside the columns that are queried, with a revision for
-- compare-and-set saves.
CREATE TABLE IF NOT EXISTS hive_change_sets (
    id         TEXT PRIMARY KEY NOT NULL,
    repository TEXT NOT NULL,
    status     TEXT NOT NULL,
    body       TEXT NOT NULL,
    revision   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS hive_change_sets_created ON hive_change_sets (created_at);
