-- complete_and_claim: `complete` then `claim` in one step, saving the
-- worker a round trip per task. A refused completion claims nothing.
-- KEYS[9]: the completed task.
-- ARGV: prefix, id, token, result, then claim's arguments (token, worker,
-- lease_ms, max, ncaps, caps..., ntypes, types...).
-- Answers {'ok', leased hashes} or a refusal.
local now = now_ms()
local refused = complete(ARGV[2], KEYS[9], ARGV[3], ARGV[4], now)
if refused then return refused end
local token, worker, lease_ms, max, caps, ncaps, types = claim_args(5)
return finish({'ok', claim(token, worker, lease_ms, max, caps, ncaps, types, now)})
