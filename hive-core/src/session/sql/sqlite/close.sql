-- Closed is final: an open session only.
UPDATE hive_sessions SET status = 'closed', closed_at = ? WHERE id = ? AND status = 'open' RETURNING id
