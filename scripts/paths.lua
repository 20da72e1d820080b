-- wrk: request a random path from the file named by the PATHS environment variable (one
-- path per line), so a run spreads over many practices or many queries.
local paths = {}
for line in io.lines(os.getenv("PATHS")) do
  paths[#paths + 1] = line
end
math.randomseed(42)
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
