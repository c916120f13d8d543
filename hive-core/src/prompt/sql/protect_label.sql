UPDATE hive_prompt_labels SET protected = $3 WHERE agent = $1 AND name = $2
