-- Complete (acknowledge) a job in flight: it is gone for good.
-- KEYS: inflight meta jobs ids
local K_inflight, K_meta, K_jobs, K_ids = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
-- ARGV: 1 id, 2 lease ('' = whoever holds it), 3 result JSON, 4 result TTL ms (0 or absent =
--       store no result record)
-- Returns 'done', 'missing' (not in flight: unknown, already done, or returned after its
-- visibility timeout) or 'stale' (in flight under another lease: a newer delivery owns it).
-- >>> includes/complete.lua
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
-- Acknowledges a job in flight: it is gone for good, and its de-duplication id is free again.
-- With `ttlMs` above 0 its result record is written in the same step (see result.lua).
local function completeJob(id, lease, result, ttlMs)
	local problem = leaseProblem(id, lease)
	if problem then return problem end
	redis.call('ZREM', K_inflight, id)
	redis.call('HDEL', K_jobs, id)
	redis.call('HDEL', K_meta, id)
	redis.call('SREM', K_ids, id)
	ttlMs = tonumber(ttlMs) or 0
	if ttlMs > 0 then storeResult(id, completedRecord(id, result, serverTimeMs()), ttlMs) end
	return 'done'
end
-- <<< includes/complete.lua
return completeJob(ARGV[1], ARGV[2], ARGV[3], ARGV[4])
