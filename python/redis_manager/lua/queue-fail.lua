-- Fail a job in flight: retry it after an exponential backoff (via the delayed set) until it
-- has used its attempts, then move it to the dead-letter list with the error kept.
-- KEYS: delayed inflight jobs meta dead
local K_delayed, K_inflight, K_jobs, K_meta, K_dead = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
-- ARGV: 1 id, 2 lease ('' = any), 3 error text, 4 base backoff ms (-1 = the job's own),
--       5 retry ('1'; '0' = dead-letter now), 6 max backoff ms, 7 default max attempts, 8 default backoff ms
-- Returns {'retry', attempt, runAt}, {'dead', attempt, failedAt}, {'missing'} or {'stale'}.
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
local id = ARGV[1]
local problem, meta = leaseProblem(id, ARGV[2])
if problem then return { problem } end
meta = meta or readMeta(id)
local now = serverTimeMs()
local raw = redis.call('HGET', K_jobs, id) or '{}'
local ok, env = pcall(cjson.decode, raw)
if not ok or type(env) ~= 'table' then env = {} end
local attempt = tonumber(meta.a) or 1
local maxAttempts = tonumber(env.maxAttempts) or tonumber(ARGV[7])
redis.call('ZREM', K_inflight, id)
if ARGV[5] ~= '1' or attempt >= maxAttempts then
	deadLetter(id, raw, ARGV[3], attempt, maxAttempts, now)
	return {'dead', attempt, now}
end
local base = tonumber(ARGV[4])
if base < 0 then base = tonumber(env.backoffMs) or tonumber(ARGV[8]) end
local delay = base * 2 ^ (attempt - 1)
local cap = tonumber(ARGV[6])
if delay > cap then delay = cap end
local runAt = now + math.floor(delay)
redis.call('HSET', K_meta, id, cjson.encode({ a = attempt, e = ARGV[3] }))
redis.call('ZADD', K_delayed, runAt, id)
return {'retry', attempt, runAt}
