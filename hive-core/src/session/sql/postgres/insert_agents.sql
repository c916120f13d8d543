-- A new session's agents in the order given.
INSERT INTO hive_session_agents (session_id, position, agent_name)
SELECT $1, position, agent_name FROM unnest($2::text[]) WITH ORDINALITY AS a (agent_name, position)
