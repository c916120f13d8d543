-- Lock the tasks $1 that nobody else holds: another purge (so concurrent
-- purges split the work) or a submit adding a dependent to one of them.
SELECT id FROM hive_tasks WHERE id = ANY($1::uuid[]) FOR UPDATE SKIP LOCKED
