-- wrk: request a random path from the file named by the PATHS environment variable (one
-- path per line), so a run spreads over many practices or many queries.
--
-- With TAIL_WORDS (a file of words, one per line), TAIL_PREFIX (such as "/api/v1/search?q=")
-- and TAIL_SHARE (0 to 1), that share of the requests are instead searches for two random
-- words of the list: the long tail of searches nobody has made before, which no cache holds.
local paths = {}
for line in io.lines(os.getenv("PATHS")) do
  paths[#paths + 1] = line
end
local words = {}
if os.getenv("TAIL_WORDS") then
  for line in io.lines(os.getenv("TAIL_WORDS")) do
    words[#words + 1] = line
  end
end
local share = tonumber(os.getenv("TAIL_SHARE") or "0")
local prefix = os.getenv("TAIL_PREFIX") or ""

-- Each wrk thread, and each run, draws its own sequence: a tail search is new to the server.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end
function init(args)
  math.randomseed(os.time() * 100 + (id or 0))
end

request = function()
  if #words > 0 and math.random() < share then
    local q = words[math.random(#words)] .. "+" .. words[math.random(#words)]
    return wrk.format("GET", prefix .. q .. "&page=" .. math.random(3))
  end
  return wrk.format("GET", paths[math.random(#paths)])
end
