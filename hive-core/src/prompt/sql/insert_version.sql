-- A version, unless the agent already has one of the same text.
INSERT INTO hive_prompt_versions (id, agent, text, parent, author, author_kind, rationale,
    hash, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (agent, hash) DO NOTHING
