-- A consistent snapshot of one queue's counts (read only).
--@keys waiting claim priority delayed inflight jobs dead
-- Returns {waiting, prioritised, delayed, inFlight, dead, stalled, dueDelayed,
--          oldest enqueuedAt ms (-1 unknown), now ms, next delayed run-at (-1 none)}
--@include server-time.lua
local now = serverTimeMs()
local oldest = -1
local function consider(raw)
	if not raw then return end
	local ok, env = pcall(cjson.decode, raw)
	if ok and type(env) == 'table' then
		local at = tonumber(env.enqueuedAt)
		if at and (oldest < 0 or at < oldest) then oldest = at end
	end
end
consider(redis.call('LINDEX', K_waiting, -1))
consider(redis.call('LINDEX', K_claim, -1))
local head = redis.call('ZRANGE', K_priority, 0, 0)
if head[1] then consider(redis.call('HGET', K_jobs, head[1])) end
local nextDue = redis.call('ZRANGE', K_delayed, 0, 0, 'WITHSCORES')
return {
	redis.call('LLEN', K_waiting) + redis.call('LLEN', K_claim),
	redis.call('ZCARD', K_priority),
	redis.call('ZCARD', K_delayed),
	redis.call('ZCARD', K_inflight),
	redis.call('LLEN', K_dead),
	redis.call('ZCOUNT', K_inflight, '-inf', now),
	redis.call('ZCOUNT', K_delayed, '-inf', now),
	oldest,
	now,
	tonumber(nextDue[2]) or -1,
}
