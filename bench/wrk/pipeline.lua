-- HTTP/1.1 pipelining for wrk, as TechEmpower's plaintext test does it.
--
-- Usage: wrk ... -s bench/wrk/pipeline.lua URL -- conns=C depth=D
--
-- Every write carries D copies of wrk's request (URL, method and -H headers)
-- back to back; the connection writes again once all D responses are in.
-- wrk counts responses, so its Requests/sec is responses per second. The
-- request is returned from request() rather than fixed at start-up, like
-- TechEmpower's script, so the client does the same work as theirs.
-- done() comes from latency.lua: one latency sample is one batch.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "latency.lua")

local parse_args = init

function init(args)
  parse_args(args)
  batch = wrk.format():rep(bench_depth)
end

function request()
  return batch
end
