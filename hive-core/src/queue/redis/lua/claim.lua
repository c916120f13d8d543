-- claim: leases up to `max` ready tasks the worker can take, most urgent
-- first, after promoting delayed tasks that are due.
-- ARGV: prefix, token, worker, lease_ms, max, ncaps, caps..., ntypes,
-- types...
-- Answers the leased tasks' hashes.
local token, worker, lease_ms, max, caps, ncaps, types = claim_args(2)
return finish(claim(token, worker, lease_ms, max, caps, ncaps, types, now_ms()))
