-- wrk script for test_abuse.py's sign-in flood: every request signs in with a random name and a wrong
-- password. With FLOOD_SPREAD=1 each request also carries a random X-Forwarded-For, so that a host that
-- trusts the loopback proxy sees it come from one of 16 million addresses.
math.randomseed(os.time())
local spread = os.getenv("FLOOD_SPREAD") == "1"

request = function()
  local name = string.format("flood-%08x", math.random(0, 0x7fffffff))
  local body = '{"username":"' .. name .. '","password":"Guess-1234"}'
  local headers = {["Content-Type"] = "application/json"}
  if spread then
    headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
  end
  return wrk.format("POST", "/auth/v1/signin", headers, body)
end

-- The answers by status (429 and 503 without Retry-After apart), printed at the end as
-- "status <code> <count>" lines for the test to read.
statuses = {}
response = function(status, headers, body)
  local key = tostring(status)
  if (status == 429 or status == 503) and headers["Retry-After"] == nil then
    key = key .. "-without-retry-after"
  end
  statuses[key] = (statuses[key] or 0) + 1
end

local threads = {}
setup = function(thread)
  table.insert(threads, thread)
end

done = function(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for key, count in pairs(thread:get("statuses")) do
      total[key] = (total[key] or 0) + count
    end
  end
  for key, count in pairs(total) do
    io.write(string.format("status %s %d\n", key, count))
  end
end
