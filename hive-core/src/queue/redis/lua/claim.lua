-- claim: leases up to `max` ready tasks the worker can take, most urgent
-- first, after promoting delayed tasks that are due.
-- ARGV: prefix, token, worker, lease_ms, max, ncaps, caps...
-- Answers the leased tasks' hashes.
local token, worker, lease_ms, max, caps, ncaps = claim_args(2)
return finish(claim(token, worker, lease_ms, max, caps, ncaps, now_ms()))
