SELECT id, agent, text, parent, author, author_kind, rationale, hash, created_at
FROM hive_prompt_versions WHERE agent = $1 AND hash = $2
