-- The metrics of the outcomes list.sql's filter passes ($1-$6), one row per
-- value of {key} (a column name from GroupBy::column, or a NULL). The
-- percentiles are nearest-rank: the smallest value whose rank r among the
-- group's n satisfies r / n >= p, in integers (r * 100 >= n * p).
WITH w AS (
    SELECT {key} AS k, status, attempts, run_ms, wait_ms, input_tokens, output_tokens,
        cost_usd, score,
        ROW_NUMBER() OVER (PARTITION BY {key} ORDER BY run_ms) AS run_rank,
        ROW_NUMBER() OVER (PARTITION BY {key} ORDER BY wait_ms) AS wait_rank,
        COUNT(*) OVER (PARTITION BY {key}) AS n
    FROM hive_outcomes
    WHERE finished_at >= $1 AND finished_at < $2
      AND (CAST($3 AS TEXT) IS NULL OR agent = CAST($3 AS TEXT))
      AND (CAST($4 AS TEXT) IS NULL OR task_type = CAST($4 AS TEXT))
      AND (CAST($5 AS TEXT) IS NULL OR prompt_version = CAST($5 AS TEXT))
      AND (CAST($6 AS TEXT) IS NULL OR experiment = CAST($6 AS TEXT))
)
SELECT k AS key,
    CAST(COUNT(*) AS BIGINT) AS tasks,
    CAST(SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS BIGINT) AS succeeded,
    CAST(SUM(CASE WHEN status = 'dead_lettered' THEN 1 ELSE 0 END) AS BIGINT) AS dead_lettered,
    CAST(SUM(attempts - 1) AS BIGINT) AS retries,
    CAST(MIN(CASE WHEN run_rank * 100 >= n * 50 THEN run_ms END) AS BIGINT) AS p50_run_ms,
    CAST(MIN(CASE WHEN run_rank * 100 >= n * 95 THEN run_ms END) AS BIGINT) AS p95_run_ms,
    CAST(MIN(CASE WHEN wait_rank * 100 >= n * 50 THEN wait_ms END) AS BIGINT) AS p50_wait_ms,
    CAST(SUM(input_tokens) AS BIGINT) AS input_tokens,
    CAST(SUM(output_tokens) AS BIGINT) AS output_tokens,
    CAST(SUM(cost_usd) AS DOUBLE PRECISION) AS cost_usd,
    CAST(COUNT(cost_usd) AS BIGINT) AS priced,
    CAST(AVG(score) AS DOUBLE PRECISION) AS mean_score,
    CAST(COUNT(score) AS BIGINT) AS scored
FROM w
GROUP BY k
