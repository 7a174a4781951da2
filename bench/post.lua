-- wrk script: POST the JSON body of $BODY_FILE to every request, count GraphQL errors, and
-- print one machine-readable RESULT line at the end. With $IDS_FILE (one id per line), each
-- request puts the next id of the file in place of __ID__ in the body (writes spread over
-- many rows), and a number counting the thread's requests in place of __N__ (a value that
-- changes at every write).
local file = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("AUTH_HEADER")
if auth and auth ~= "" then
  local name, value = auth:match("^([^:]+):%s*(.*)$")
  if name then wrk.headers[name] = value end
end

local ids = {}
local ids_file = os.getenv("IDS_FILE")
if ids_file and ids_file ~= "" then
  for line in io.lines(ids_file) do table.insert(ids, line) end
end
if #ids > 0 then
  local template, n, count = wrk.body, math.random(#ids), 0
  function request()
    n = n % #ids + 1
    count = count + 1
    local body = template:gsub("__ID__", ids[n]):gsub("__N__", tostring(count))
    return wrk.format(nil, nil, nil, body)
  end
end

local threads = {}
function setup(thread) table.insert(threads, thread) end

errors = 0
function response(status, headers, body)
  if status ~= 200 or body:find('"errors"', 1, true) then errors = errors + 1 end
end

function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do failed = failed + thread:get("errors") end
  io.write(string.format("RESULT requests=%d seconds=%.3f rps=%.1f p50_us=%d p99_us=%d errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99),
    failed + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
