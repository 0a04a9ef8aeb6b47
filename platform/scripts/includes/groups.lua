--@include priority.lua
--@include group-keys.lua
-- Fair queues. A job enqueued with a group waits in that group's own sorted set,
-- groupKey('group', <group>) (job id -> priority score, so priority and first in, first out hold
-- inside the group), with its envelope in K_jobs. K_groups lists the groups that have ready
-- jobs, scored by their turn: takes serve the group whose turn is lowest and give it a new
-- turn behind everyone else (round robin). Jobs without a group are the group '' (the
-- waiting list, the claim list and the priority lane, as before groups existed); it joins
-- K_groups when a take finds it ready, since a plain LPUSH producer never tells anyone.

-- A job's group, or nil for an ungrouped one.
local function groupOf(env)
	if type(env) == 'table' and type(env.group) == 'string' and env.group ~= '' then return env.group end
	return nil
end

-- A new turn, behind every turn handed out so far (K_seq only ever grows).
local function nextTurn()
	return redis.call('INCR', K_seq)
end

-- Puts a group into the rotation unless it is there: it gets the current turn, so it waits
-- at most one job of each group already there.
local function joinRotation(group)
	redis.call('ZADD', K_groups, 'NX', tonumber(redis.call('GET', K_seq)) or 0, group)
end

-- Puts a ready job into its group, and the group into the rotation.
local function addToGroup(id, raw, group, p, head)
	redis.call('HSET', K_jobs, id, raw)
	local score = head and priorityHeadScore(p) or priorityScore(p)
	redis.call('ZADD', groupKey('group', group), score, id)
	joinRotation(group)
end
