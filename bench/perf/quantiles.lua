-- wrk -s bench/perf/quantiles.lua: after the run, print the latency distribution
-- as 1,000 evenly spaced quantiles (microseconds), for bench/perf/latency.py.
done = function(summary, latency, requests)
  local points = {}
  for i = 0, 999 do
    points[#points + 1] = latency:percentile((i + 0.5) / 10)
  end
  io.write("quantiles_us: " .. table.concat(points, " ") .. "\n")
end
