-- complete: finishes the current attempt successfully, stores the result and
-- frees the dependents that were waiting only for this task.
-- KEYS[9]: the task. ARGV: prefix, id, token, result.
-- Answers {'ok'} or a refusal.
return finish(complete(ARGV[2], KEYS[9], ARGV[3], ARGV[4], now_ms()) or {'ok'})
