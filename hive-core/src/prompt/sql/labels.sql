SELECT agent, name, version, protected, moves, updated_at
FROM hive_prompt_labels WHERE agent = $1 ORDER BY name
