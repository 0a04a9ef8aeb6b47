-- A consistent snapshot of one queue's counts (read only).
--@keys waiting claim priority delayed inflight jobs dead groups
-- ARGV: 1 max groups listed one by one (absent, from a caller older than groups: none)
-- Returns {waiting, prioritised, delayed, inFlight, dead, stalled, dueDelayed,
--          oldest enqueuedAt ms (-1 unknown), now ms, next delayed run-at (-1 none),
--          groups with ready jobs, then per listed group (in turn order): name, ready, in flight}
-- `waiting` counts the ready jobs of every group but those of the ungrouped priority lane.
-- The ungrouped jobs are listed first (name ''), when there are any, with in flight -1: they
-- are not booked per group while no group is in use, so only the queue's total is known.
--@include server-time.lua
--@include group-keys.lua
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
local function considerHead(key)
	local head = redis.call('ZRANGE', key, 0, 0)
	if head[1] then consider(redis.call('HGET', K_jobs, head[1])) end
end
consider(redis.call('LINDEX', K_waiting, -1))
consider(redis.call('LINDEX', K_claim, -1))
considerHead(K_priority)

local ungrouped = redis.call('LLEN', K_waiting) + redis.call('LLEN', K_claim)
local waiting = ungrouped
local listed = {}
local lane = redis.call('ZCARD', K_priority)
if ungrouped + lane > 0 then listed = { '', ungrouped + lane, -1 } end
local groups = redis.call('ZRANGE', K_groups, 0, -1)
local named = 0
for _, group in ipairs(groups) do
	if group ~= '' then
		named = named + 1
		local ready = redis.call('ZCARD', groupKey('group', group))
		waiting = waiting + ready
		considerHead(groupKey('group', group))
		if #listed < (tonumber(ARGV[1]) or 0) * 3 then
			local flying = 0
			for _, id in ipairs(redis.call('ZRANGE', groupKey('group-flight', group), 0, -1)) do
				if redis.call('ZSCORE', K_inflight, id) then flying = flying + 1 end
			end
			listed[#listed + 1] = group
			listed[#listed + 1] = ready
			listed[#listed + 1] = flying
		end
	end
end

local nextDue = redis.call('ZRANGE', K_delayed, 0, 0, 'WITHSCORES')
local reply = {
	waiting,
	lane,
	redis.call('ZCARD', K_delayed),
	redis.call('ZCARD', K_inflight),
	redis.call('LLEN', K_dead),
	redis.call('ZCOUNT', K_inflight, '-inf', now),
	redis.call('ZCOUNT', K_delayed, '-inf', now),
	oldest,
	now,
	tonumber(nextDue[2]) or -1,
	named,
}
for _, v in ipairs(listed) do reply[#reply + 1] = v end
return reply
