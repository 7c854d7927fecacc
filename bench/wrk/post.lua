-- POST requests for wrk, with latency.lua's exact percentiles and summary line.
--
-- Usage: wrk ... -H 'Content-Type: application/json' -s bench/wrk/post.lua URL -- conns=C body=B
-- B is the request body as one argument (no spaces needed for JSON). Every request is the same
-- POST; a response with a status over 399 counts in err_status, as in latency.lua.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "latency.lua")

local parse_args = init

-- wrk formats the request after init() returns, from wrk.method and wrk.body.
function init(args)
  local rest = {}
  for i = 1, #args do
    local body = args[i]:match("^body=(.*)$")
    if body then
      wrk.method = "POST"
      wrk.body = body
    else
      rest[#rest + 1] = args[i]
    end
  end
  parse_args(rest)
end
