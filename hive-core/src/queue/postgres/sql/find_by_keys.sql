-- Tasks of the queue already holding any of the idempotency keys $2.
SELECT idempotency_key, id, status
FROM hive_tasks WHERE queue = $1 AND idempotency_key = ANY($2::text[])
