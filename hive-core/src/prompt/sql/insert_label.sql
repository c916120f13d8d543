INSERT INTO hive_prompt_labels (agent, name, version, protected, moves, updated_at)
VALUES ($1, $2, $3, $4, 1, $5)
