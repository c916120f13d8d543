-- Tasks $2 are about to get dependents: lock them (in id order, so two
-- submits never deadlock on each other) and mark them, so that whoever
-- finishes one of them next takes the path that counts down or fails its
-- dependents — after this submit commits, when it can see the new edges.
-- Returns each one's status at that moment; missing ids are unknown.
UPDATE hive_tasks AS t SET has_dependents = true
FROM (
    SELECT id FROM hive_tasks
    WHERE queue = $1 AND id = ANY($2::uuid[])
    ORDER BY id
    FOR NO KEY UPDATE
) AS locked
WHERE t.id = locked.id
RETURNING t.id, t.status
