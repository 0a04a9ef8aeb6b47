-- Bring dead-lettered jobs back to the queue with a fresh set of attempts.
-- KEYS: waiting priority jobs meta dead seq groups
local K_waiting, K_priority, K_jobs, K_meta, K_dead, K_seq, K_groups = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
-- ARGV: 1 max jobs to move, 2 job id ('' = the oldest dead jobs)
-- Returns the number of jobs moved.
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
-- >>> includes/result.lua
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
-- A job's result record, read by waiters (Enqueue with Wait for Result, Get Job Result):
-- {queue-tag}:result:<id>, a string with a TTL, written in the same script that settles the
-- job (a reader never sees a job gone without its result) and PUBLISHed on a channel of the
-- same name, which is what a waiter subscribes to before it reads the key.
-- The key is built from the queue's hash tag rather than passed in KEYS: the housekeeping
-- buries jobs the caller cannot name in advance. The tag keeps it in the queue's slot.
local RESULT_TTL_MS = 86400000

local function resultKey(id)
	return string.sub(K_meta, 1, -5) .. 'result:' .. id
end

local function storeResult(id, record, ttlMs)
	local key = resultKey(id)
	redis.call('SET', key, record, 'PX', ttlMs)
	-- pcall: the job is already settled when this runs and Redis does not roll a script back, so
	-- an ACL user without this channel (Redis 7 users start with none) must not turn a done job
	-- into an error; waiters still find the record by the read that follows their SUBSCRIBE.
	redis.pcall('PUBLISH', key, record)
end

-- A completed job's record; `result` is JSON text from the caller (text that is not JSON is
-- kept as a JSON string, so the record always parses).
local function completedRecord(id, result, now)
	if result == nil or result == '' then result = 'null'
	elseif not pcall(cjson.decode, result) then result = cjson.encode(result) end
	return '{"id":' .. cjson.encode(id) .. ',"status":"completed","result":' .. result .. ',"completedAt":' .. now .. '}'
end

local function deadRecord(id, reason, attempt, now)
	return '{"id":' .. cjson.encode(id) .. ',"status":"dead","error":' .. cjson.encode(reason) .. ',"attempt":' .. attempt
		.. ',"failedAt":' .. now .. '}'
end
-- <<< includes/result.lua

local function revive(entry)
	local ok, dead = pcall(cjson.decode, entry)
	if not ok or type(dead) ~= 'table' or type(dead.job) ~= 'string' or type(dead.id) ~= 'string' then
		-- Not ours: hand it to Dequeue as a bare payload rather than drop it.
		redis.call('LPUSH', K_waiting, entry)
		return
	end
	redis.call('HDEL', K_meta, dead.id)
	-- Its dead record would tell a later reader the job ended while it runs again.
	redis.call('DEL', resultKey(dead.id))
	local okJob, env = pcall(cjson.decode, dead.job)
	requeue(dead.id, dead.job, okJob and env, false)
end

if ARGV[2] ~= '' then
	local entries = redis.call('LRANGE', K_dead, 0, -1)
	for _, entry in ipairs(entries) do
		local ok, dead = pcall(cjson.decode, entry)
		if ok and type(dead) == 'table' and dead.id == ARGV[2] then
			redis.call('LREM', K_dead, 1, entry)
			revive(entry)
			return 1
		end
	end
	return 0
end

local moved = 0
for _ = 1, tonumber(ARGV[1]) do
	local entry = redis.call('RPOP', K_dead)
	if not entry then break end
	revive(entry)
	moved = moved + 1
end
return moved
