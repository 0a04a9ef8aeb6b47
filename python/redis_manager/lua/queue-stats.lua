-- A consistent snapshot of one queue's counts (read only).
-- KEYS: waiting claim priority delayed inflight jobs meta dead ids seq
-- Returns {waiting, prioritised, delayed, inFlight, dead, stalled, dueDelayed,
--          oldest enqueuedAt ms (-1 unknown), now ms, next delayed run-at (-1 none)}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local oldest = -1
local function consider(raw)
	if not raw then return end
	local ok, env = pcall(cjson.decode, raw)
	if ok and type(env) == 'table' then
		local at = tonumber(env.enqueuedAt)
		if at and (oldest < 0 or at < oldest) then oldest = at end
	end
end
consider(redis.call('LINDEX', KEYS[1], -1))
consider(redis.call('LINDEX', KEYS[2], -1))
local head = redis.call('ZRANGE', KEYS[3], 0, 0)
if head[1] then consider(redis.call('HGET', KEYS[6], head[1])) end
local nextDue = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
return {
	redis.call('LLEN', KEYS[1]) + redis.call('LLEN', KEYS[2]),
	redis.call('ZCARD', KEYS[3]),
	redis.call('ZCARD', KEYS[4]),
	redis.call('ZCARD', KEYS[5]),
	redis.call('LLEN', KEYS[8]),
	redis.call('ZCOUNT', KEYS[5], '-inf', now),
	redis.call('ZCOUNT', KEYS[4], '-inf', now),
	oldest,
	now,
	tonumber(nextDue[2]) or -1,
}
