INSERT INTO hive_conversations (id, session_id, seq, from_agent, to_agent, content, at_ms)
VALUES (?, ?, ?, ?, ?, ?, ?)
RETURNING id, session_id, seq, from_agent, to_agent, content, at_ms
