--@include group-keys.lua
-- Per-group limits, given by the taker (every consumer of a queue passes the same ones).
-- The group's 'group-flight' key holds the ids taken from the group (id -> take time). It is not
-- told when a job leaves flight (Complete and Fail stay as they are): an id counts only while
-- it is still in K_inflight, so a crashed worker's job counts until its visibility timeout
-- returns it, and ids of settled jobs are dropped lazily. The 'group-rate' key is a sliding
-- window of the group's takes (lease -> take time), as rate-limit-check.lua keeps for requests.

local FLIGHT_TTL_MS = 8 * 86400000

-- Drops ids that are no longer in flight, looking at up to `count` of the longest held;
-- those still in flight get a fresh time, so the next look starts with others.
local function pruneFlight(key, count, now)
	for _, id in ipairs(redis.call('ZRANGE', key, 0, count - 1)) do
		if redis.call('ZSCORE', K_inflight, id) then
			redis.call('ZADD', key, now, id)
		else
			redis.call('ZREM', key, id)
		end
	end
end

-- Whether the group may hand out a job now; when not, the earliest time it may (-1: when a
-- job of it is settled).
local function groupBlocked(group, now, limits)
	if limits.flight > 0 then
		local key = groupKey('group-flight', group)
		if redis.call('ZCARD', key) >= limits.flight then
			pruneFlight(key, redis.call('ZCARD', key), now)
			if redis.call('ZCARD', key) >= limits.flight then return true, -1 end
		end
	end
	if limits.rate > 0 then
		local key = groupKey('group-rate', group)
		redis.call('ZREMRANGEBYSCORE', key, '-inf', now - limits.window)
		if redis.call('ZCARD', key) >= limits.rate then
			local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
			return true, tonumber(oldest[2]) + limits.window
		end
	end
	return false
end

-- Books a take against the group's limits (and for Stats' per-group in-flight count).
local function recordTake(group, id, lease, now, limits)
	local key = groupKey('group-flight', group)
	pruneFlight(key, 2, now)
	redis.call('ZADD', key, now, id)
	-- Nothing else removes an idle group's key (it keeps the ids of its last settled jobs); it
	-- outlives the longest visibility timeout (7 days) after the group's last take.
	redis.call('PEXPIRE', key, FLIGHT_TTL_MS)
	if limits.rate > 0 then
		local window = groupKey('group-rate', group)
		redis.call('ZADD', window, now, lease)
		redis.call('PEXPIRE', window, limits.window)
	end
end
