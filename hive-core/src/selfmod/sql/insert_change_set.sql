-- A new change set: $1 id, $2 repository, $3 status, $4 body (JSON), $5 created_at.
INSERT INTO hive_change_sets (id, repository, status, body, revision, created_at, updated_at)
VALUES ($1, $2, $3, $4, 1, $5, $5)
