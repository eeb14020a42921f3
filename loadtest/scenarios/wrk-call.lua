-- wrk: `tools/call echo` with a 1 KiB argument, over and over, in one MCP session opened
-- beforehand (loadtest/pinned opens it). Counts answers that are not a successful result.
--
-- Environment: SESSION (the Mcp-Session-Id), TOKEN (bearer token; empty for the upstream),
-- API_KEY (sent as x-api-key: what the upstream needs when called directly), TOOL (default
-- echo), MESSAGE_BYTES (default 1024). FRESH=1 instead calls TOOL (transfer_funds) with
-- {to, amount, currency} and a new currency every call, as loadtest/scenarios/call-fresh.js
-- does: `amount` and `currency` are declared in the policy schema, so every call is a new
-- decision (amounts up to 10000 stay allowed).
local token = os.getenv("TOKEN") or ""
local session = os.getenv("SESSION") or ""
local api_key = os.getenv("API_KEY") or ""
local tool = os.getenv("TOOL") or "echo"
local size = tonumber(os.getenv("MESSAGE_BYTES") or "1024")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-06-18"
if token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
if session ~= "" then wrk.headers["Mcp-Session-Id"] = session end
if api_key ~= "" then wrk.headers["x-api-key"] = api_key end
wrk.body = string.format(
  '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"%s","arguments":{"message":"%s"}}}',
  tool, string.rep("x", size))

if os.getenv("FRESH") == "1" then
  local n = 0
  function request()
    n = n + 1
    return wrk.format(nil, nil, nil, string.format(
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"%s","arguments":{"to":"acme-supplier","amount":%d,"currency":"C%d"}}}',
      tool, 1 + n % 10000, n))
  end
end

-- Per thread (wrk gives each thread its own Lua state); `done` adds them up.
failed = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"isError":false', 1, true) then
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("failed")
  end
  io.write(string.format("RESULT requests=%d seconds=%.3f failed=%d errors=%d\n",
    summary.requests, summary.duration / 1e6, bad,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.status + summary.errors.timeout))
end
