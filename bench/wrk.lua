-- okcow bench: per-request method/path/headers/body from a generated Lua data file, rotated across
-- threads; prints one JSON line (prefix "WRKJSON ") in done(). Usage: wrk -s wrk.lua URL -- DATA
-- A body or path may hold {{key}}: replaced by a unique string per request (idempotency keys).
-- "loaded" in the summary is how many requests the first thread read from the data file.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local data = dofile(args[1])
  nthreads = tonumber(args[2]) or 1
  requests_ = data.requests
  run_id = data.run_id or "r"
  prepared = {}
  for i, r in ipairs(requests_) do
    if not (string.find(r[2], "{{key}}", 1, true) or (r[4] and string.find(r[4], "{{key}}", 1, true))) then
      prepared[i] = wrk.format(r[1], r[2], r[3], r[4])
    end
  end
  index = (id or 0) % #requests_
  loaded = #requests_
end

function request()
  index = index % #requests_ + 1
  local pre = prepared[index]
  if pre then
    return pre
  end
  counter = counter + 1
  local key = run_id .. "-" .. (id or 0) .. "-" .. counter
  local r = requests_[index]
  local path = string.gsub(r[2], "{{key}}", key)
  local body = r[4] and string.gsub(r[4], "{{key}}", key) or nil
  return wrk.format(r[1], path, r[3], body)
end

function done(summary, latency, requests)
  local e = summary.errors
  local loaded = threads[1] and threads[1]:get("loaded") or 0
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"loaded": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout, loaded))
end
