-- Hand a job in flight back untouched (a worker shutting down, or a manual test run): it
-- returns to the head of the queue and the delivery does not count as an attempt.
-- KEYS: inflight meta jobs priority seq waiting groups
local K_inflight, K_meta, K_jobs, K_priority, K_seq, K_waiting, K_groups = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
-- ARGV: 1 id, 2 lease ('' = any)
-- Returns 'released', 'missing' or 'stale'.
-- >>> includes/lease.lua
-- >>> includes/meta.lua
-- A job's live counters in K_meta: a = attempt, l = lease of the current delivery, e = the
-- error of the previous attempt. Kept apart from the envelope, which stays as the producer
-- wrote it.
local function readMeta(id)
	local m = redis.call('HGET', K_meta, id)
	if m then return cjson.decode(m) end
	return {}
end
-- <<< includes/meta.lua
-- Why the caller may not settle job `id`: 'missing' when it is not in flight (unknown, done,
-- or returned after its visibility timeout), 'stale' when another delivery owns it now.
-- Otherwise nil, and the job's meta when the lease had to be read to check it (lease '' =
-- whoever holds the job, and skips that read).
local function leaseProblem(id, lease)
	if not redis.call('ZSCORE', K_inflight, id) then return 'missing' end
	if lease == '' then return nil end
	local meta = readMeta(id)
	if meta.l ~= lease then return 'stale' end
	return nil, meta
end
-- <<< includes/lease.lua
-- >>> includes/requeue.lua
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
-- <<< includes/requeue.lua
local id = ARGV[1]
local problem, meta = leaseProblem(id, ARGV[2])
if problem then return problem end
meta = meta or readMeta(id)
redis.call('ZREM', K_inflight, id)
local attempt = (tonumber(meta.a) or 1) - 1
if attempt > 0 or meta.e then
	redis.call('HSET', K_meta, id, cjson.encode({ a = attempt, e = meta.e }))
else
	redis.call('HDEL', K_meta, id)
end
local raw = redis.call('HGET', K_jobs, id)
if not raw then return 'missing' end
local ok, env = pcall(cjson.decode, raw)
requeue(id, raw, ok and env, true)
return 'released'
