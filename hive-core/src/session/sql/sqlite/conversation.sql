SELECT id, session_id, seq, from_agent, to_agent, content, at_ms
FROM hive_conversations
WHERE session_id = ? AND seq > ?
ORDER BY seq
LIMIT ?
