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

-- The score that puts a job ahead of every other job of its priority (a job handed back or
-- returned after its visibility timeout runs next, as the waiting list's RPUSH does).
local function priorityHeadScore(p)
	return (MAX_PRIORITY + 1 - p) * 4294967296
end
