SELECT task_id, queue, task_type, agent, prompt_version, experiment, arm, status, attempts,
    wait_ms, run_ms, input_tokens, output_tokens, cost_usd, score, finished_at
FROM hive_outcomes WHERE task_id = $1
