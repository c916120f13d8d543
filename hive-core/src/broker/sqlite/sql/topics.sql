SELECT topic FROM broker_topics ORDER BY topic
