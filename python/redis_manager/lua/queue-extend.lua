-- Extend the visibility deadline of a job in flight (a worker's heartbeat while it runs).
-- KEYS: inflight meta
local K_inflight, K_meta = KEYS[1], KEYS[2]
-- ARGV: 1 id, 2 lease ('' = any), 3 visibility ms from now
-- Returns {'ok', deadline}, {'missing'} or {'stale'}.
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
local problem = leaseProblem(ARGV[1], ARGV[2])
if problem then return { problem } end
local deadline = serverTimeMs() + tonumber(ARGV[3])
redis.call('ZADD', K_inflight, deadline, ARGV[1])
return {'ok', deadline}
