-- Hand a job in flight back untouched (a worker shutting down, or a manual test run): it
-- returns to the head of the queue and the delivery does not count as an attempt.
-- KEYS: inflight meta jobs priority seq waiting
local K_inflight, K_meta, K_jobs, K_priority, K_seq, K_waiting = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
-- ARGV: 1 id, 2 lease ('' = any)
-- Returns 'released', 'missing' or 'stale'.
-- >>> includes/lease.lua
-- >>> includes/meta.lua
-- A job's live counters in K_meta: a = attempt, l = lease of the current delivery, e = the
-- error of the previous attempt. Kept apart from the envelope, which stays as the producer
-- wrote it.
local function readMeta(id)
	local m = redis.call('HGET', K_meta, id)
	if m then return cjson.decode(m) end
	return {}
end
-- <<< includes/meta.lua
-- Why the caller may not settle job `id`: 'missing' when it is not in flight (unknown, done,
-- or returned after its visibility timeout), 'stale' when another delivery owns it now.
-- Otherwise nil, and the job's meta when the lease had to be read to check it (lease '' =
-- whoever holds the job, and skips that read).
local function leaseProblem(id, lease)
	if not redis.call('ZSCORE', K_inflight, id) then return 'missing' end
	if lease == '' then return nil end
	local meta = readMeta(id)
	if meta.l ~= lease then return 'stale' end
	return nil, meta
end
-- <<< includes/lease.lua
-- >>> includes/requeue.lua
-- >>> includes/priority.lua
-- Priorities run from 0 (normal: the waiting list) to MAX_PRIORITY, the same number as
-- MAX_PRIORITY in platform/queue/types.ts (test/foundation/lua-scripts.test.ts holds the two equal).
local MAX_PRIORITY = 100

-- The priority a job runs with; whatever is not a number in range counts as the nearest one.
local function priorityOf(env)
	local p = type(env) == 'table' and tonumber(env.priority) or 0
	if p ~= p or p < 0 then return 0 end
	if p > MAX_PRIORITY then return MAX_PRIORITY end
	return math.floor(p)
end

-- A prioritised job's score in K_priority: higher priority first, then first in, first out
-- by the K_seq counter (its low 32 bits keep any realistic backlog of one priority in order).
local function priorityScore(p)
	return (MAX_PRIORITY + 1 - p) * 4294967296 + redis.call('INCR', K_seq) % 4294967296
end
-- <<< includes/priority.lua
-- Back to waiting: a prioritised job to its lane (its envelope stays in K_jobs), any other
-- to the list, at the head (`head`: it runs next) or the tail.
local function requeue(id, raw, p, head)
	if p > 0 then
		redis.call('HSET', K_jobs, id, raw)
		redis.call('ZADD', K_priority, priorityScore(p), id)
	else
		redis.call('HDEL', K_jobs, id)
		if head then redis.call('RPUSH', K_waiting, raw) else redis.call('LPUSH', K_waiting, raw) end
	end
end
-- <<< includes/requeue.lua
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
requeue(id, raw, priorityOf(ok and env), true)
return 'released'
