INSERT INTO hive_conversations (id, session_id, seq, from_agent, to_agent, content, at_ms)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
RETURNING id, session_id, seq, from_agent, to_agent, content, at_ms
