-- Experiments of agent $1 (all when NULL), only the active ones when $2 is 1;
-- newest first, at most $3.
SELECT id, status, body, revision, updated_at FROM hive_experiments
WHERE (CAST($1 AS TEXT) IS NULL OR agent = CAST($1 AS TEXT))
  AND ($2 = 0 OR status <> 'finished')
ORDER BY created_at DESC, id DESC
LIMIT $3
