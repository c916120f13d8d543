-- The first statement of every write that searches must see: it takes the
-- write lock at once (no read-then-upgrade deadlock between processes) and
-- answers the generation this write stamps its rows with.
UPDATE context_generation SET value = value + 1 WHERE id = 1 RETURNING value
