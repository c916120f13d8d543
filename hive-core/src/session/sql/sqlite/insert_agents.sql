-- A new session's agents in the order given: ?2 is a JSON array of names.
INSERT INTO hive_session_agents (session_id, position, agent_name)
SELECT ?1, key + 1, value FROM json_each(?2)
