-- Deletes a topic's oldest messages beyond the newest ?2.
DELETE FROM broker_messages
WHERE topic = ?1
  AND seq <= (SELECT seq FROM broker_messages WHERE topic = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)
