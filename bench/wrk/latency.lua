-- Exact latency percentiles and a machine-readable summary for wrk 4.1.
--
-- Usage: wrk ... -s bench/wrk/latency.lua URL -- conns=C
-- (pipeline.lua includes this file; it also takes depth=D.) C must equal
-- wrk's -c value: it is needed to undo wrk's correction, below.
--
-- Why wrk's own percentiles are wrong under pipelining. Before printing, wrk
-- 4.1 "corrects for coordinated omission" in place (stats_correct in stats.c):
--
--   e = runtime_us / (responses / connections)         (integer divisions)
--   for every recorded value n >= 2e with count c:
--     add c synthetic samples at each of n-e, n-2e, ... while the value > e
--
-- e is meant to be the time between two requests of one connection. But wrk
-- records one latency sample per write (with pipelining, per batch of D
-- requests, from the write until the batch's last response) while it counts
-- every response, so e comes out D times too small and each real sample
-- drags a comb of fake ones down below it. Many land under the recorded
-- minimum, where wrk's percentile walk never looks, so it prints nonsense
-- such as "99% 0.00us". Even without pipelining the correction adds samples
-- that no request experienced.
--
-- Method. The correction is deterministic and adds only to values below
-- its source, so it can be undone exactly from the top down. Walk the
-- histogram from the largest value to the smallest, keeping per residue
-- class (value mod e) the number of real samples seen so far; every value
-- v > e received exactly that many synthetic samples, so
--   real(v) = observed(v) - sum of real(v + k*e), k >= 1.
-- Values <= e received none. What is left are exactly the samples wrk
-- measured, and the percentiles below are nearest-rank over those. As a
-- check, the number of real samples must match the number of completed
-- writes (responses / D, less at most one unfinished batch per connection),
-- and no bucket may come out negative; both are printed.
--
-- Output, one line after wrk's own report (times in microseconds):
--   BENCH requests= duration_us= bytes= err_connect= err_read= err_write=
--     err_status= err_timeout= depth= conns= interval_us= samples=
--     negative= p50_us= p90_us= p99_us= p999_us= max_us= wrk_p99_us=
-- err_status counts responses with status > 399, as wrk does.

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

-- Runs in each thread's own Lua state: keep the key=value arguments as
-- globals there, where done() can read them back with thread:get().
function init(args)
  bench_conns, bench_depth = nil, 1
  for i = 1, #args do
    local key, value = args[i]:match("^(%w+)=(%d+)$")
    if key == "conns" then bench_conns = tonumber(value)
    elseif key == "depth" then bench_depth = tonumber(value)
    else error("latency.lua: unknown argument '" .. args[i] .. "'") end
  end
end

local function thread_global(name)
  local t = threads[1]
  return t and t:get(name)
end

-- The histogram as two arrays, ascending values (us) and their counts.
-- latency(i) is wrk's i-th non-empty bucket; each call scans from the
-- minimum, so this is the slow part, but it runs once, after the load.
local function read_histogram(latency)
  local values, counts = {}, {}
  for i = 1, #latency do
    values[i], counts[i] = latency(i)
  end
  return values, counts
end

-- Undo stats_correct() in place (see the header). Returns the number of
-- buckets that would have gone negative, which must be 0.
local function uncorrect(values, counts, e)
  if e <= 0 then return 0 end
  local real_above, negative = {}, 0
  for i = #values, 1, -1 do
    local v = values[i]
    if v > e then
      local class = v % e
      local real = counts[i] - (real_above[class] or 0)
      if real < 0 then
        negative, real = negative + 1, 0
      end
      counts[i] = real
      real_above[class] = (real_above[class] or 0) + real
    end
  end
  return negative
end

-- Nearest-rank percentile: the smallest value with at least p% of the
-- samples at or below it.
local function percentile(values, counts, total, p)
  local rank, seen = math.ceil(p / 100 * total), 0
  if rank < 1 then rank = 1 end
  for i = 1, #values do
    seen = seen + counts[i]
    if seen >= rank then return values[i] end
  end
  return 0
end

function done(summary, latency, requests)
  local conns = bench_conns or thread_global("bench_conns")
  local depth = bench_depth or thread_global("bench_depth") or 1
  if not conns then
    print("BENCH error=missing_conns_argument")
    return
  end
  -- The same integer arithmetic as wrk's main(): e = runtime / (complete / c).
  local per_conn = math.floor(summary.requests / conns)
  local e = per_conn > 0 and math.floor(summary.duration / per_conn) or 0
  local wrk_p99 = latency:percentile(99)

  local values, counts = read_histogram(latency)
  local negative = uncorrect(values, counts, e)
  local total, max = 0, 0
  for i = 1, #values do
    total = total + counts[i]
    if counts[i] > 0 then max = values[i] end
  end

  local err = summary.errors
  print(string.format(
    "BENCH requests=%d duration_us=%d bytes=%d err_connect=%d err_read=%d err_write=%d " ..
    "err_status=%d err_timeout=%d depth=%d conns=%d interval_us=%d samples=%d negative=%d " ..
    "p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d wrk_p99_us=%d",
    summary.requests, summary.duration, summary.bytes, err.connect, err.read, err.write,
    err.status, err.timeout, depth, conns, e, total, negative,
    percentile(values, counts, total, 50), percentile(values, counts, total, 90),
    percentile(values, counts, total, 99), percentile(values, counts, total, 99.9),
    max, wrk_p99))
end
