SELECT id, name, status, state, created_at, closed_at,
       ARRAY(SELECT agent_name FROM hive_session_agents
             WHERE session_id = s.id ORDER BY position) AS agents
FROM hive_sessions s WHERE id = $1
