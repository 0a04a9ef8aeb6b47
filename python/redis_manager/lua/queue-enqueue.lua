-- Enqueue one job (envelope built by the caller).
-- KEYS: ids delayed jobs priority seq waiting groups
local K_ids, K_delayed, K_jobs, K_priority, K_seq, K_waiting, K_groups = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
-- ARGV: 1 id, 2 envelope JSON, 3 de-duplicate ('1' = refuse an id that is still live or dead),
--       4 delay ms, 5 run-at epoch ms (0 = none), 6 priority (0 = normal), 7 group ('' = none)
-- Returns {1, runAt} when enqueued, {0, 0} when the id is a duplicate.
-- Normal jobs go to the waiting list (LPUSH, so a Python BRPOP consumer sees them oldest-first);
-- delayed, prioritised and grouped jobs are held by id, with their envelope in the jobs hash
-- (a delayed job's group is in its envelope, read when it becomes due).
-- >>> includes/server-time.lua
-- The Redis server's clock, never the caller's: hosts with skewed clocks still agree on
-- deadlines, windows and backoff. Returns epoch milliseconds and the raw TIME reply.
-- Before Redis 5 a script may not write after reading TIME unless it replicates its effects
-- instead of itself. Switching that on must happen before the script's first write, so it
-- runs here, where the fragment is pasted (above the script's body); from Redis 5 on it is a
-- no-op.
if redis.replicate_commands then redis.replicate_commands() end
local function serverTimeMs()
	local t = redis.call('TIME')
	return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), t
end
-- <<< includes/server-time.lua
-- >>> includes/groups.lua
-- >>> includes/priority.lua
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
-- <<< includes/priority.lua
-- >>> includes/group-keys.lua
-- A group's own keys, named from K_groups ('{queue:<name>}:groups') by replacing its last
-- word: 'group:<g>', 'group-flight:<g>', 'group-rate:<g>', the prefixes KeySchema.queue lists
-- as `group`, `groupflight` and `grouprate`. They share the queue's hash tag, so they sit in its
-- Cluster slot. They are not passed in KEYS because a take would then carry three more keys on
-- every call, which cost about a tenth of an ungrouped take's time.
local GROUP_KEYS = string.sub(K_groups, 1, -7)
local function groupKey(kind, group)
	return GROUP_KEYS .. kind .. ':' .. group
end
-- <<< includes/group-keys.lua
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
-- <<< includes/groups.lua
local id = ARGV[1]
if ARGV[3] == '1' and redis.call('SADD', K_ids, id) == 0 then
	return {0, 0}
end
local now = serverTimeMs()
local runAt = now + tonumber(ARGV[4])
local at = tonumber(ARGV[5])
if at > runAt then runAt = at end
if runAt > now then
	redis.call('HSET', K_jobs, id, ARGV[2])
	redis.call('ZADD', K_delayed, runAt, id)
	return {1, runAt}
end
local priority = priorityOf({ priority = ARGV[6] })
-- ARGV[7] absent (a caller from before groups) is the ungrouped group.
if (ARGV[7] or '') ~= '' then
	addToGroup(id, ARGV[2], ARGV[7], priority, false)
	return {1, now}
end
if priority > 0 then
	redis.call('HSET', K_jobs, id, ARGV[2])
	redis.call('ZADD', K_priority, priorityScore(priority), id)
	return {1, now}
end
redis.call('LPUSH', K_waiting, ARGV[2])
return {1, now}
