-- The meta-agent (`meta::ProposalStore`): its proposals, each as a JSON
-- body with its status and a revision for compare-and-set saves, and the
-- spend of its runs, which its daily budget counts.
CREATE TABLE IF NOT EXISTS hive_proposals (
    id         TEXT PRIMARY KEY NOT NULL,
    agent      TEXT NOT NULL,
    status     TEXT NOT NULL,
    body       TEXT NOT NULL,
    revision   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hive_meta_runs (
    id       TEXT PRIMARY KEY NOT NULL,
    agent    TEXT NOT NULL,
    calls    INTEGER NOT NULL,
    tokens   INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    at       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS hive_meta_runs_at ON hive_meta_runs (at);
