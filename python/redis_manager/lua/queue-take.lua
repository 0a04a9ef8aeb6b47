-- Dequeue: takes the next job into flight, after the queue's housekeeping (see
-- includes/housekeeping.lua and includes/take.lua).
-- KEYS: waiting claim priority delayed inflight jobs meta dead seq groups
local K_waiting, K_claim, K_priority, K_delayed, K_inflight, K_jobs, K_meta, K_dead, K_seq, K_groups = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]
-- ARGV: 1 visibility ms, 2 id for a bare payload, 3 lease token, 4 default max attempts,
--       5 max jobs moved per housekeeping step, 6 max in flight per group (0 = no limit),
--       7 max takes per group in a window (0 = no limit), 8 that window in ms (6 to 8 may be
--       left out: no limits)
-- Returns {'job', id, envelope, attempt, maxAttempts, lease, deadline, now, lastError}
--      or {'empty', next delayed run-at or -1, now, promoted, recovered, buried, held by a limit (1/0)}
-- >>> includes/take.lua
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
-- >>> includes/housekeeping.lua
-- >>> includes/envelope.lua
-- The decoded envelope of a stored job, or nil for anything else (a bare payload a producer
-- pushed without one, or text that is not JSON).
local function envelope(raw)
	local ok, v = pcall(cjson.decode, raw)
	if ok and type(v) == 'table' and type(v.id) == 'string' and v.payload ~= nil then return v end
	return nil
end
-- <<< includes/envelope.lua
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
-- >>> includes/dead-letter.lua
-- >>> includes/result.lua
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
-- Moves a job to the dead list, newest first, with the error that ended it. The envelope is
-- kept as a string so Retry Dead restores it byte for byte; the entry is written by hand so
-- its fields keep this order and its numbers print as integers for the Python readers.
-- A waiter on the job learns the error from its result record.
local function deadLetter(id, raw, reason, attempt, maxAttempts, now)
	local entry = '{"id":' .. cjson.encode(id) .. ',"error":' .. cjson.encode(reason) .. ',"attempt":' .. attempt
		.. ',"maxAttempts":' .. maxAttempts .. ',"failedAt":' .. now .. ',"job":' .. cjson.encode(raw) .. '}'
	redis.call('LPUSH', K_dead, entry)
	redis.call('HDEL', K_jobs, id)
	redis.call('HDEL', K_meta, id)
	storeResult(id, deadRecord(id, reason, attempt, now), RESULT_TTL_MS)
end
-- <<< includes/dead-letter.lua
-- The queue's housekeeping, done by every take so that nobody has to schedule it: delayed
-- jobs whose time came go back to waiting, and jobs whose visibility deadline passed (their
-- worker died or hung) return to the head of the queue, or to the dead list once out of
-- attempts. At most `limit` jobs of each kind per call, so one script never runs long.
-- Returns how many jobs were promoted, recovered and buried.
local function housekeep(now, limit, defaultMax)
	local promoted, recovered, buried = 0, 0, 0
	for _, id in ipairs(redis.call('ZRANGEBYSCORE', K_delayed, '-inf', now, 'LIMIT', 0, limit)) do
		redis.call('ZREM', K_delayed, id)
		local raw = redis.call('HGET', K_jobs, id)
		if raw then
			requeue(id, raw, envelope(raw), false)
			promoted = promoted + 1
		end
	end
	for _, id in ipairs(redis.call('ZRANGEBYSCORE', K_inflight, '-inf', now, 'LIMIT', 0, limit)) do
		redis.call('ZREM', K_inflight, id)
		local raw = redis.call('HGET', K_jobs, id)
		if raw then
			local env = envelope(raw)
			local attempt = tonumber(readMeta(id).a) or 1
			local maxAttempts = env and tonumber(env.maxAttempts) or defaultMax
			local reason = 'Visibility timeout expired on attempt ' .. attempt .. ': the worker stopped or took too long'
			if attempt >= maxAttempts then
				deadLetter(id, raw, reason, attempt, maxAttempts, now)
				buried = buried + 1
			else
				redis.call('HSET', K_meta, id, cjson.encode({ a = attempt, e = reason }))
				requeue(id, raw, env, true)
				recovered = recovered + 1
			end
		else
			redis.call('HDEL', K_meta, id)
		end
	end
	return promoted, recovered, buried
end
-- <<< includes/housekeeping.lua
-- >>> includes/group-limits.lua
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
-- <<< includes/group-limits.lua
-- Moves the next job into flight after the housekeeping, and hands it out under a fresh lease
-- with its visibility deadline in K_inflight.
-- Without groups and limits (the common case) the next job is the ungrouped one: the
-- priority lane first, then a job a blocked consumer just moved to the claim list (it BLMOVEs
-- there and takes from there, so a crash in between strands nothing), then the oldest
-- waiting job. Otherwise the groups take turns (includes/groups.lua), '' being the ungrouped
-- jobs, and a group at one of its limits lets its turn pass.
-- Returns {'job', id, envelope, attempt, maxAttempts, lease, deadline, now, lastError}
--      or {'empty', next delayed run-at (or when a rate-limited group frees) or -1, now,
--          promoted, recovered, buried, held (1 when a group at a limit has ready jobs)}

-- Groups looked at per take: a take never scans a long rotation, and the groups it passed
-- over get new turns, so the next takes look further.
local GROUP_SCAN = 32

-- Pops the first id of a sorted set whose envelope is still there (an id whose envelope
-- vanished, a manual edit, is skipped).
local function popHeld(key)
	for _ = 1, 16 do
		local top = redis.call('ZPOPMIN', key)
		if not top[1] then return nil end
		local raw = redis.call('HGET', K_jobs, top[1])
		if raw then return top[1], raw, envelope(raw) end
	end
	return nil
end

local function popUngrouped()
	local id, raw, env = popHeld(K_priority)
	if raw then return id, raw, env end
	raw = redis.call('RPOP', K_claim) or redis.call('RPOP', K_waiting)
	return nil, raw, nil
end

local function ungroupedReady()
	return redis.call('EXISTS', K_priority, K_claim, K_waiting) > 0
end

-- The next job by the groups' turns: id (nil for a list entry), raw, env and its group; or
-- only, in fifth and sixth place, the earliest time a rate-limited group frees (-1 unknown)
-- and whether a group was held back by a limit.
local function popByTurn(now, limits)
	if ungroupedReady() then joinRotation('') end
	local freeAt, held = -1, false
	for _, group in ipairs(redis.call('ZRANGE', K_groups, 0, GROUP_SCAN - 1)) do
		local blocked, at = groupBlocked(group, now, limits)
		if blocked then
			held = true
			redis.call('ZADD', K_groups, nextTurn(), group)
			if at >= 0 and (freeAt < 0 or at < freeAt) then freeAt = at end
		else
			local id, raw, env
			local left
			if group == '' then
				id, raw, env = popUngrouped()
				left = ungroupedReady()
			else
				id, raw, env = popHeld(groupKey('group', group))
				left = redis.call('EXISTS', groupKey('group', group)) == 1
			end
			if left then redis.call('ZADD', K_groups, nextTurn(), group) else redis.call('ZREM', K_groups, group) end
			if raw then return id, raw, env, group end
		end
	end
	return nil, nil, nil, nil, freeAt, held
end

local function takeJob(visibilityMs, bareId, lease, defaultMax, limit, maxFlight, rateMax, rateWindow)
	local now = serverTimeMs()
	local promoted, recovered, buried = housekeep(now, limit, defaultMax)
	local limits = { flight = maxFlight or 0, rate = rateMax or 0, window = rateWindow or 0 }
	if limits.window <= 0 then limits.rate = 0 end

	local id, raw, env, group, freeAt, held
	if limits.flight == 0 and limits.rate == 0 and redis.call('EXISTS', K_groups) == 0 then
		id, raw, env = popUngrouped()
	else
		id, raw, env, group, freeAt, held = popByTurn(now, limits)
	end
	if not raw then
		local nextDue = tonumber(redis.call('ZRANGE', K_delayed, 0, 0, 'WITHSCORES')[2]) or -1
		if freeAt and freeAt >= 0 and (nextDue < 0 or freeAt < nextDue) then nextDue = freeAt end
		return {'empty', nextDue, now, promoted, recovered, buried, held and 1 or 0}
	end

	if not id then
		env = envelope(raw)
		if env then
			id = env.id
		else
			-- A bare payload (a Python LPUSH of plain JSON): wrap it, so retries keep its id.
			id = bareId
			local payload = raw
			if not pcall(cjson.decode, raw) then payload = cjson.encode(raw) end
			raw = '{"id":' .. cjson.encode(id) .. ',"payload":' .. payload .. ',"attempt":0,"maxAttempts":' .. defaultMax
				.. ',"enqueuedAt":' .. now .. ',"source":"bare"}'
			env = { id = id, maxAttempts = defaultMax, enqueuedAt = now }
		end
	end
	if group then recordTake(group, id, lease, now, limits) end

	local meta = readMeta(id)
	local attempt = (tonumber(meta.a) or tonumber(env.attempt) or 0) + 1
	local maxAttempts = tonumber(env.maxAttempts) or defaultMax
	local deadline = now + visibilityMs
	redis.call('HSET', K_jobs, id, raw)
	redis.call('HSET', K_meta, id, cjson.encode({ a = attempt, l = lease, e = meta.e }))
	redis.call('ZADD', K_inflight, deadline, id)
	return {'job', id, raw, attempt, maxAttempts, lease, deadline, now, meta.e or ''}
end
-- <<< includes/take.lua
return takeJob(tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]))
