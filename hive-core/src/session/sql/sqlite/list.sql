-- Newest first; ?1 is a status, or NULL for every session.
SELECT id, name, status, state, created_at, closed_at,
       (SELECT json_group_array(agent_name ORDER BY position)
        FROM hive_session_agents WHERE session_id = s.id) AS agents
FROM hive_sessions s
WHERE ?1 IS NULL OR status = ?1
ORDER BY created_at DESC, id DESC
LIMIT ?2
