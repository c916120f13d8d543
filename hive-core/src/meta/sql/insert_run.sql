-- One meta-agent run's spend: $1 id, $2 agent, $3 calls, $4 tokens, $5 cost, $6 at.
INSERT INTO hive_meta_runs (id, agent, calls, tokens, cost_usd, at) VALUES ($1, $2, $3, $4, $5, $6)
