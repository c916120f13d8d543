-- One change set by id.
SELECT id, status, body, revision, updated_at FROM hive_change_sets WHERE id = $1
