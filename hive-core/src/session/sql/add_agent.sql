INSERT INTO hive_session_agents (session_id, position, agent_name) VALUES ($1, $2, $3)
