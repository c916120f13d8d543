-- Rows of one model written after a generation: what a handle's copy lacks.
SELECT id, agent, session, kind, tier, pinned, created_at, embedding
FROM context_entries
WHERE model = ? AND version > ?
