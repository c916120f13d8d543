SELECT id, topic, from_agent, to_agent, kind, correlation_id, payload, headers,
       created_at, topic_offset, published_at
FROM message_history
