-- One experiment by id.
SELECT id, status, body, revision, updated_at FROM hive_experiments WHERE id = $1
