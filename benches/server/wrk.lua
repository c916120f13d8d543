-- The load of `./scripts/bench server`, for wrk: the request comes from the
-- environment (WRK_METHOD, WRK_BODY: a JSON body, sent as
-- application/json), and done() prints one summary line: req/s, latency
-- percentiles, and every error wrk counts (connection, read, write,
-- timeout, and answers other than 2xx/3xx).
wrk.method = os.getenv("WRK_METHOD") or "GET"
local body = os.getenv("WRK_BODY")
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end

function done(summary, latency, requests)
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.timeout + e.status
  local ms = function(p) return latency:percentile(p) / 1000 end
  io.write(string.format(
    "%.0f req/s | p50 %.2f ms | p90 %.2f ms | p99 %.2f ms | max %.2f ms | %d requests | %d errors (connect %d, read %d, write %d, timeout %d, non-2xx %d)\n",
    summary.requests / (summary.duration / 1e6), ms(50), ms(90), ms(99),
    latency.max / 1000, summary.requests, errors,
    e.connect, e.read, e.write, e.timeout, e.status))
end
