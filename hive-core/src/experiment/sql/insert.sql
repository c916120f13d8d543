-- A new experiment: $1 id, $2 agent, $3 label, $4 status, $5 body (JSON),
-- $6 created_at. At most one active experiment per agent and label (a
-- partial unique index refuses a second).
INSERT INTO hive_experiments (id, agent, label, status, body, revision, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, 1, $6, $6)
