-- What a token is checked against, to explain a refusal.
SELECT status, lease_token, deadline, attempts, max_attempts, timeout_ms, worker
FROM hive_tasks WHERE queue = ?1 AND id = ?2
