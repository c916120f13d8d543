-- Outcomes finished in [$1, $2), narrowed by agent $3, task type $4,
-- prompt version $5 and experiment $6 when given; newest first, at most $7.
SELECT task_id, queue, task_type, agent, prompt_version, experiment, arm, status, attempts,
    wait_ms, run_ms, input_tokens, output_tokens, cost_usd, score, finished_at
FROM hive_outcomes
WHERE finished_at >= $1 AND finished_at < $2
  AND (CAST($3 AS TEXT) IS NULL OR agent = CAST($3 AS TEXT))
  AND (CAST($4 AS TEXT) IS NULL OR task_type = CAST($4 AS TEXT))
  AND (CAST($5 AS TEXT) IS NULL OR prompt_version = CAST($5 AS TEXT))
  AND (CAST($6 AS TEXT) IS NULL OR experiment = CAST($6 AS TEXT))
ORDER BY finished_at DESC, task_id DESC
LIMIT $7
