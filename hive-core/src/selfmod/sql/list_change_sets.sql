-- Change sets of repository $1 and status $2 (all when NULL), newest first, at most $3.
SELECT id, status, body, revision, updated_at FROM hive_change_sets
WHERE (CAST($1 AS TEXT) IS NULL OR repository = CAST($1 AS TEXT))
  AND (CAST($2 AS TEXT) IS NULL OR status = CAST($2 AS TEXT))
ORDER BY created_at DESC, id DESC
LIMIT $3
