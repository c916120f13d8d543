SELECT id, session_id, seq, from_agent, to_agent, content, at_ms
FROM hive_conversations
WHERE session_id = $1 AND seq > $2
ORDER BY seq
LIMIT $3
