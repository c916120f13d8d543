-- Closed is final: an open session only.
UPDATE hive_sessions SET status = 'closed', closed_at = $1 WHERE id = $2 AND status = 'open' RETURNING id
