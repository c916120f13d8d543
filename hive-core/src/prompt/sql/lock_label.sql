-- The first statement of a move: takes the label's row (Postgres) or the
-- file's write lock (SQLite) before anything is read.
UPDATE hive_prompt_labels SET moves = moves + 1 WHERE agent = $1 AND name = $2
