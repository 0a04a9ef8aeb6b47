-- Hand a job in flight back untouched (a worker shutting down, or a manual test run): it
-- returns to the head of the queue and the delivery does not count as an attempt.
--@keys inflight meta jobs priority seq waiting groups
-- ARGV: 1 id, 2 lease ('' = any)
-- Returns 'released', 'missing' or 'stale'.
--@include lease.lua
--@include requeue.lua
local id = ARGV[1]
local problem, meta = leaseProblem(id, ARGV[2])
if problem then return problem end
meta = meta or readMeta(id)
redis.call('ZREM', K_inflight, id)
local attempt = (tonumber(meta.a) or 1) - 1
if attempt > 0 or meta.e then
	redis.call('HSET', K_meta, id, cjson.encode({ a = attempt, e = meta.e }))
else
	redis.call('HDEL', K_meta, id)
end
local raw = redis.call('HGET', K_jobs, id)
if not raw then return 'missing' end
local ok, env = pcall(cjson.decode, raw)
requeue(id, raw, ok and env, true)
return 'released'
