--@include lease.lua
--@include result.lua
-- Acknowledges a job in flight: it is gone for good, and its de-duplication id is free again.
-- With `ttlMs` above 0 its result record is written in the same step (see result.lua).
local function completeJob(id, lease, result, ttlMs)
	local problem = leaseProblem(id, lease)
	if problem then return problem end
	redis.call('ZREM', K_inflight, id)
	redis.call('HDEL', K_jobs, id)
	redis.call('HDEL', K_meta, id)
	redis.call('SREM', K_ids, id)
	ttlMs = tonumber(ttlMs) or 0
	if ttlMs > 0 then storeResult(id, completedRecord(id, result, serverTimeMs()), ttlMs) end
	return 'done'
end
