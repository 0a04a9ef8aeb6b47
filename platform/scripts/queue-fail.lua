-- Fail a job in flight: retry it after an exponential backoff (via the delayed set) until it
-- has used its attempts, then move it to the dead-letter list with the error kept.
--@keys delayed inflight jobs meta dead
-- ARGV: 1 id, 2 lease ('' = any), 3 error text, 4 base backoff ms (-1 = the job's own),
--       5 retry ('1'; '0' = dead-letter now), 6 max backoff ms, 7 default max attempts, 8 default backoff ms
-- Returns {'retry', attempt, runAt}, {'dead', attempt, failedAt}, {'missing'} or {'stale'}.
--@include server-time.lua
--@include lease.lua
--@include dead-letter.lua
local id = ARGV[1]
local problem, meta = leaseProblem(id, ARGV[2])
if problem then return { problem } end
meta = meta or readMeta(id)
local now = serverTimeMs()
local raw = redis.call('HGET', K_jobs, id) or '{}'
local ok, env = pcall(cjson.decode, raw)
if not ok or type(env) ~= 'table' then env = {} end
local attempt = tonumber(meta.a) or 1
local maxAttempts = tonumber(env.maxAttempts) or tonumber(ARGV[7])
redis.call('ZREM', K_inflight, id)
if ARGV[5] ~= '1' or attempt >= maxAttempts then
	deadLetter(id, raw, ARGV[3], attempt, maxAttempts, now)
	return {'dead', attempt, now}
end
local base = tonumber(ARGV[4])
if base < 0 then base = tonumber(env.backoffMs) or tonumber(ARGV[8]) end
local delay = base * 2 ^ (attempt - 1)
local cap = tonumber(ARGV[6])
if delay > cap then delay = cap end
local runAt = now + math.floor(delay)
redis.call('HSET', K_meta, id, cjson.encode({ a = attempt, e = ARGV[3] }))
redis.call('ZADD', K_delayed, runAt, id)
return {'retry', attempt, runAt}
