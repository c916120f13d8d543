-- One proposal by id.
SELECT id, status, body, revision, updated_at FROM hive_proposals WHERE id = $1
