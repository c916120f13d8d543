SELECT id::text AS id, topic, from_agent, to_agent, kind,
       correlation_id::text AS correlation_id,
       payload::text AS payload, headers::text AS headers,
       created_at, topic_offset, published_at
FROM message_history
