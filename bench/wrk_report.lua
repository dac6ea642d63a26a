-- wrk script for bench/run.sh: appends one JSON line per run to the file named by $WRK_JSON.
-- With $WRK_BODY_FILE set, every request is a POST of that file's bytes (the upload test).
local body_file = os.getenv("WRK_BODY_FILE")
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/octet-stream"
end

function done(summary, latency, requests)
  local out = assert(io.open(os.getenv("WRK_JSON"), "a"))
  local e = summary.errors
  out:write(string.format(
    '{"requests":%d,"bytes_read":%d,"body_bytes":%d,"duration_us":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.bytes, wrk.body and #wrk.body or 0, summary.duration,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
  out:close()
end
