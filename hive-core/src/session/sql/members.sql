-- Which of a speaker ($2) and an addressee ($3, or NULL) are in the session.
SELECT agent_name FROM hive_session_agents
WHERE session_id = $1 AND agent_name IN ($2, $3)
