-- Topics holding more than the retained count, with how many are over.
SELECT topic, COUNT(*) - ?1 FROM broker_messages GROUP BY topic HAVING COUNT(*) > ?1
