--@include lease.lua
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
