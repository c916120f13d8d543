-- One outcome per task: recording a task again replaces its outcome.
INSERT INTO hive_outcomes (task_id, queue, task_type, agent, prompt_version, experiment, arm,
    status, attempts, wait_ms, run_ms, input_tokens, output_tokens, cost_usd, score,
    finished_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
ON CONFLICT (task_id) DO UPDATE SET
    queue = excluded.queue, task_type = excluded.task_type, agent = excluded.agent,
    prompt_version = excluded.prompt_version, experiment = excluded.experiment,
    arm = excluded.arm, status = excluded.status, attempts = excluded.attempts,
    wait_ms = excluded.wait_ms, run_ms = excluded.run_ms,
    input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,
    cost_usd = excluded.cost_usd, score = excluded.score, finished_at = excluded.finished_at
