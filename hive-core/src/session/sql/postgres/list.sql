-- Newest first; $1 is a status, or NULL for every session.
SELECT id, name, status, state, created_at, closed_at,
       ARRAY(SELECT agent_name FROM hive_session_agents
             WHERE session_id = s.id ORDER BY position) AS agents
FROM hive_sessions s
WHERE $1::text IS NULL OR status = $1
ORDER BY created_at DESC, id DESC
LIMIT $2
