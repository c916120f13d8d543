INSERT INTO hive_prompt_label_moves (agent, name, seq, from_version, to_version, moved_by,
    approved_by, reason, at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
