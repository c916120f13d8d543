SELECT id, agent, text, parent, author, author_kind, rationale, hash, created_at
FROM hive_prompt_versions WHERE agent = $1 ORDER BY created_at, id
