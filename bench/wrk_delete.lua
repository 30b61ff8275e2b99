-- wrk_delete.lua: the benchmark's ceiling. Sends `DELETE {base_path}/keys/{hash}` over distinct hashes
-- read from a file (one per line), with the same headers and body keyrevoke sends, and no per-request
-- bookkeeping at all (no response() callback, so wrk stays on its fast path).
--
--   MODELGATES_MANAGEMENT_KEY=... WRK_HASHES=hashes.txt [WRK_BASE_PATH=/api/v1] \
--     wrk -t1 -c64 -d10s -s bench/wrk_delete.lua https://127.0.0.1:PORT
--
-- The key comes from the environment, never the command line. With -tN each thread takes every N-th
-- hash. When a thread runs out of hashes it starts over (those answers are 404s: still full requests);
-- done() prints one JSON line, prefixed "wrk_delete:", with the counts and latency percentiles.

local hashes = {}
count = 0       -- globals, so done() can read them with thread:get
next_index = 0
laps = 0
local headers = {}
local prefix = "/api/v1/keys/"

-- Main state only (setup/done). The threads' own globals thread_index/thread_count are set here with
-- thread:set, so no local in this file may shadow those two names.
local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
  for _, t in ipairs(threads) do
    t:set("thread_count", #threads)
  end
end

function init(args)
  local file = os.getenv("WRK_HASHES") or args[1]
  assert(file, "wrk_delete.lua: set WRK_HASHES to a file of hashes")
  local key = os.getenv("MODELGATES_MANAGEMENT_KEY")
  assert(key and #key > 0, "wrk_delete.lua: set MODELGATES_MANAGEMENT_KEY")
  prefix = (os.getenv("WRK_BASE_PATH") or "/api/v1") .. "/keys/"
  local me = thread_index or 0
  local of = thread_count or 1
  local line_no = 0
  for line in io.lines(file) do
    if #line >= 64 then
      if line_no % of == me then
        count = count + 1
        hashes[count] = string.sub(line, 1, 64)
      end
      line_no = line_no + 1
    end
  end
  assert(count > 0, "wrk_delete.lua: no hashes in " .. file)
  headers["Authorization"] = "Bearer " .. key
  headers["Content-Type"] = "application/json"
  headers["Accept"] = "application/json"
  headers["User-Agent"] = "wrk"
  -- Every request is formatted here, once: request() then only hands out a ready string, so wrk's
  -- per-request cost is what it would be with a static request (~250 bytes per hash of memory).
  for i = 1, count do
    hashes[i] = wrk.format("DELETE", prefix .. hashes[i], headers, "{}")
  end
end

function request()
  next_index = next_index + 1
  if next_index > count then
    next_index = 1
    laps = laps + 1
  end
  return hashes[next_index]
end

function done(summary, latency, requests)
  local distinct = 0
  local wrapped = 0
  for _, t in ipairs(threads) do
    local c = t:get("count") or 0
    local l = t:get("laps") or 0
    local n = t:get("next_index") or 0
    distinct = distinct + c
    if l > 0 then wrapped = wrapped + 1 end
  end
  local e = summary.errors
  io.write(string.format(
    'wrk_delete: {"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d},"latency_us":{"min":%d,"mean":%.1f,"max":%d,"p50":%d,' ..
    '"p90":%d,"p99":%d},"hashes":%d,"threads_wrapped":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), distinct, wrapped))
end
