SELECT id, agent, text, parent, author, author_kind, rationale, hash, created_at
FROM hive_prompt_versions WHERE id = $1
