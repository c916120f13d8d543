-- The W3C `traceparent` a task was submitted with, so the agent that runs
-- it (in any process) logs the caller's trace id. NULL when none was sent.
ALTER TABLE hive_tasks ADD COLUMN IF NOT EXISTS traceparent TEXT;
