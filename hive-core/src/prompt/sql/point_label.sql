UPDATE hive_prompt_labels SET version = $3, updated_at = $4 WHERE agent = $1 AND name = $2
