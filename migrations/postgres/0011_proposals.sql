-- The meta-agent (`meta::ProposalStore`): its proposals, each as a JSON
-- body with its status and a revision for compare-and-set saves, and the
-- spend of its runs, which its daily budget counts.
CREATE TABLE IF NOT EXISTS hive_proposals (
    id         TEXT PRIMARY KEY,
    agent      TEXT NOT NULL,
    status     TEXT NOT NULL,
    body       TEXT NOT NULL,
    revision   BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS hive_meta_runs (
    id       TEXT PRIMARY KEY,
    agent    TEXT NOT NULL,
    calls    BIGINT NOT NULL,
    tokens   BIGINT NOT NULL,
    cost_usd DOUBLE PRECISION NOT NULL,
    at       BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS hive_meta_runs_at ON hive_meta_runs (at);
