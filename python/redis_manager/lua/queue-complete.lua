-- Complete (acknowledge) a job in flight: it is gone for good.
-- KEYS: inflight meta jobs ids
local K_inflight, K_meta, K_jobs, K_ids = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
-- ARGV: 1 id, 2 lease ('' = whoever holds it)
-- Returns 'done', 'missing' (not in flight: unknown, already done, or returned after its
-- visibility timeout) or 'stale' (in flight under another lease: a newer delivery owns it).
-- >>> includes/complete.lua
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
-- Acknowledges a job in flight: it is gone for good, and its de-duplication id is free again.
local function completeJob(id, lease)
	local problem = leaseProblem(id, lease)
	if problem then return problem end
	redis.call('ZREM', K_inflight, id)
	redis.call('HDEL', K_jobs, id)
	redis.call('HDEL', K_meta, id)
	redis.call('SREM', K_ids, id)
	return 'done'
end
-- <<< includes/complete.lua
return completeJob(ARGV[1], ARGV[2])
