-- What a token is checked against, to explain why a guarded statement
-- matched no row.
SELECT status, lease_token::text AS lease_token, deadline, attempts, max_attempts, timeout_ms,
    worker, has_dependents, hive_now_ms() AS now
FROM hive_tasks WHERE id = $2 AND queue = $1
