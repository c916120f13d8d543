UPDATE hive_sessions SET state = ? WHERE id = ? AND status = 'open' RETURNING id
