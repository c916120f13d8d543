UPDATE hive_sessions SET state = $1 WHERE id = $2 AND status = 'open' RETURNING id
