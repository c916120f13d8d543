-- Saves change set $1 as status $2 and body $3 at $4, if still at revision $5.
UPDATE hive_change_sets SET status = $2, body = $3, revision = revision + 1, updated_at = $4
WHERE id = $1 AND revision = $5
