-- Lock a task for a transition that reads before it writes, and fetch what
-- the decision needs (the database clock included). The lock also waits out
-- a submit that is adding dependents to it, so the statements that follow
-- see those dependents.
SELECT status, lease_token::text AS lease_token, deadline, attempts, max_attempts, timeout_ms,
    worker, has_dependents, hive_now_ms() AS now
FROM hive_tasks WHERE id = $2 AND queue = $1
FOR NO KEY UPDATE
