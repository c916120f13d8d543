SELECT agent, name, seq, from_version, to_version, moved_by, approved_by, reason, at
FROM hive_prompt_label_moves WHERE agent = $1 AND name = $2 ORDER BY seq
