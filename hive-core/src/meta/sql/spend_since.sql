-- Calls and dollars of the runs at or after $1.
SELECT CAST(COALESCE(SUM(calls), 0) AS BIGINT) AS calls,
       CAST(COALESCE(SUM(cost_usd), 0) AS DOUBLE PRECISION) AS cost_usd
FROM hive_meta_runs WHERE at >= $1
