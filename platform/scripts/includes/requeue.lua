--@include groups.lua
-- Back to waiting: a grouped job to its group, a prioritised job to its lane (its envelope
-- stays in K_jobs), any other to the list, at the head (`head`: it runs next) or the tail.
-- `env` is the decoded envelope, or nil for a bare payload.
local function requeue(id, raw, env, head)
	local p = priorityOf(env)
	local group = groupOf(env)
	if group then
		addToGroup(id, raw, group, p, head)
	elseif p > 0 then
		redis.call('HSET', K_jobs, id, raw)
		redis.call('ZADD', K_priority, priorityScore(p), id)
	else
		redis.call('HDEL', K_jobs, id)
		if head then redis.call('RPUSH', K_waiting, raw) else redis.call('LPUSH', K_waiting, raw) end
	end
end
