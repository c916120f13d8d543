-- Lease up to ?7 ready tasks the worker can take (its capabilities are the
-- JSON array ?6; the types it takes the JSON array ?8, empty for any), most
-- urgent first, FIFO within a priority. One claim shares one random token;
-- (task id, token) identifies each attempt. The error of an earlier attempt
-- no longer explains the task's state: the history keeps it.
UPDATE hive_tasks
SET status = 'assigned',
    attempts = attempts + 1,
    lease_token = ?3,
    worker = ?4,
    started_at = ?2,
    deadline = ?2 + timeout_ms,
    lease_ms = ?5,
    lease_expires_at = MIN(?2 + ?5, ?2 + timeout_ms),
    updated_at = ?2,
    error = NULL
WHERE seq IN (
    SELECT seq FROM hive_tasks AS t
    WHERE t.queue = ?1 AND t.status = 'pending'
      AND (t.capabilities = '[]' OR NOT EXISTS (
          SELECT 1 FROM json_each(t.capabilities) AS need
          WHERE need.value NOT IN (SELECT value FROM json_each(?6))))
      AND (?8 = '[]' OR t.task_type IN (SELECT value FROM json_each(?8)))
    ORDER BY t.priority, t.seq
    LIMIT ?7)
RETURNING seq, id, task_type, payload, status, priority, capabilities, dependencies, attempts,
    max_attempts, timeout_ms, idempotency_key, traceparent, created_at, updated_at, run_at, started_at,
    finished_at, lease_expires_at, deadline, lease_token, worker, result, error
