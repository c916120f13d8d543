-- A batch as parallel arrays, one statement; ids already recorded are left
-- as they are (the first record wins, also within the batch), and the
-- caller counts the rows this inserted.
INSERT INTO message_history
    (id, topic, from_agent, to_agent, kind, correlation_id, payload, headers,
     created_at, topic_offset, published_at)
SELECT id::uuid, topic, from_agent, to_agent, kind, correlation_id::uuid,
       payload::jsonb, headers::jsonb, created_at, topic_offset, published_at
FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
            $6::text[], $7::text[], $8::text[], $9::bigint[], $10::bigint[],
            $11::bigint[])
    AS batch (id, topic, from_agent, to_agent, kind, correlation_id, payload,
              headers, created_at, topic_offset, published_at)
ON CONFLICT (id) DO NOTHING
