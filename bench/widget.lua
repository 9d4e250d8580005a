-- The wrk script of bench/widget.py: `wrk -s bench/widget.lua ...`, one phase per run.
--
-- BENCH_BODIES names a file of request bodies, one per line: each thread formats them all
-- once in init() and request() hands them out in turn, so a request costs wrk a table
-- lookup. Without BENCH_BODIES wrk sends its own static request (the GET of the ping).
-- done() prints the summary and the latency percentiles as one JSON line after the
-- marker BENCH_JSON, for bench/widget.py to read.

local bodies_file = os.getenv("BENCH_BODIES")
local thread_count = tonumber(os.getenv("BENCH_THREADS") or "1")
local next_id = 0

function setup(thread)
   thread:set("thread_id", next_id)
   next_id = next_id + 1
end

if bodies_file then
   local requests, count, index = {}, 0, 0

   function init(args)
      for line in io.lines(bodies_file) do
         count = count + 1
         requests[count] = wrk.format("POST", nil, nil, line)
      end
      -- The threads start at different users, so that no two send the same user at once.
      index = math.floor(count * thread_id / thread_count)
   end

   function request()
      index = index % count + 1
      return requests[index]
   end
end

function done(summary, latency, requests)
   local errors = summary.errors
   local fields = {
      string.format('"duration_us":%d', summary.duration),
      string.format('"requests":%d', summary.requests),
      string.format('"bytes":%d', summary.bytes),
      string.format(
         '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}',
         errors.connect, errors.read, errors.write, errors.status, errors.timeout
      ),
      string.format('"latency_us":{"min":%d,"mean":%.1f,"max":%d', latency.min, latency.mean,
         latency.max),
   }
   local percentiles = {}
   for _, p in ipairs({50, 90, 99, 99.9}) do
      percentiles[#percentiles + 1] = string.format('"%g":%d', p, latency:percentile(p))
   end
   fields[#fields] = fields[#fields] .. ',"percentiles":{' .. table.concat(percentiles, ",") .. "}}"
   io.write("BENCH_JSON {" .. table.concat(fields, ",") .. "}\n")
end
