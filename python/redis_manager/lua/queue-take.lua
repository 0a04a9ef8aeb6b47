-- Dequeue: the one script that moves a job into flight. Before popping it does the queue's
-- housekeeping, so nobody has to schedule it: due delayed jobs go back to waiting, and jobs
-- whose visibility deadline passed (their worker died or hung) are returned or dead-lettered.
-- With ARGV[1] = '0' it only does the housekeeping (the Recover Stalled operation).
-- KEYS: waiting claim priority delayed inflight jobs meta dead ids seq
-- ARGV: 1 take ('1'/'0'), 2 visibility ms, 3 id for a bare payload, 4 lease token,
--       5 default max attempts, 6 max jobs moved per housekeeping step
-- Returns {'job', id, envelope, attempt, maxAttempts, lease, deadline, now, lastError}
--      or {'empty', next delayed run-at or -1, now, promoted, recovered, buried}
-- TIME before writes needs effects replication, the default only from Redis 5 on.
if redis.replicate_commands then redis.replicate_commands() end
local K_WAIT, K_CLAIM, K_PRI, K_DELAYED, K_INFLIGHT, K_JOBS, K_META, K_DEAD = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local defaultMax = tonumber(ARGV[5])
local limit = tonumber(ARGV[6])

local function envelope(raw)
	local ok, v = pcall(cjson.decode, raw)
	if ok and type(v) == 'table' and type(v.id) == 'string' and v.payload ~= nil then return v end
	return nil
end

local function priorityOf(env)
	local p = env and tonumber(env.priority) or 0
	if p ~= p or p < 0 then return 0 end
	if p > 100 then return 100 end
	return math.floor(p)
end

local function readMeta(id)
	local m = redis.call('HGET', K_META, id)
	if m then return cjson.decode(m) end
	return {}
end

-- Back to waiting: prioritised jobs to their lane, others to the list (head = next to run).
local function requeue(id, raw, env, head)
	local p = priorityOf(env)
	if p > 0 then
		redis.call('HSET', K_JOBS, id, raw)
		redis.call('ZADD', K_PRI, (101 - p) * 4294967296 + redis.call('INCR', KEYS[10]) % 4294967296, id)
	else
		redis.call('HDEL', K_JOBS, id)
		if head then redis.call('RPUSH', K_WAIT, raw) else redis.call('LPUSH', K_WAIT, raw) end
	end
end

local promoted, recovered, buried = 0, 0, 0
local due = redis.call('ZRANGEBYSCORE', K_DELAYED, '-inf', now, 'LIMIT', 0, limit)
for _, id in ipairs(due) do
	redis.call('ZREM', K_DELAYED, id)
	local raw = redis.call('HGET', K_JOBS, id)
	if raw then
		requeue(id, raw, envelope(raw), false)
		promoted = promoted + 1
	end
end

local stalled = redis.call('ZRANGEBYSCORE', K_INFLIGHT, '-inf', now, 'LIMIT', 0, limit)
for _, id in ipairs(stalled) do
	redis.call('ZREM', K_INFLIGHT, id)
	local raw = redis.call('HGET', K_JOBS, id)
	if raw then
		local env = envelope(raw)
		local meta = readMeta(id)
		local attempt = tonumber(meta.a) or 1
		local maxAttempts = env and tonumber(env.maxAttempts) or defaultMax
		local reason = 'Visibility timeout expired on attempt ' .. attempt .. ': the worker stopped or took too long'
		if attempt >= maxAttempts then
			local entry = '{"id":' .. cjson.encode(id) .. ',"error":' .. cjson.encode(reason) .. ',"attempt":' .. attempt
				.. ',"maxAttempts":' .. maxAttempts .. ',"failedAt":' .. now .. ',"job":' .. cjson.encode(raw) .. '}'
			redis.call('LPUSH', K_DEAD, entry)
			redis.call('HDEL', K_JOBS, id)
			redis.call('HDEL', K_META, id)
			buried = buried + 1
		else
			redis.call('HSET', K_META, id, cjson.encode({ a = attempt, e = reason }))
			requeue(id, raw, env, true)
			recovered = recovered + 1
		end
	else
		redis.call('HDEL', K_META, id)
	end
end

local function empty()
	local nextDue = redis.call('ZRANGE', K_DELAYED, 0, 0, 'WITHSCORES')
	return {'empty', tonumber(nextDue[2]) or -1, now, promoted, recovered, buried}
end

if ARGV[1] ~= '1' then return empty() end

local id, raw, env
-- Prioritised jobs first; an id whose envelope vanished (manual edits) is skipped.
for _ = 1, 16 do
	local top = redis.call('ZPOPMIN', K_PRI)
	if not top[1] then break end
	raw = redis.call('HGET', K_JOBS, top[1])
	if raw then
		id = top[1]
		env = envelope(raw)
		break
	end
end
-- Then a job a blocked consumer just moved to the claim list, then the oldest waiting job.
if not raw then raw = redis.call('RPOP', K_CLAIM) end
if not raw then raw = redis.call('RPOP', K_WAIT) end
if not raw then return empty() end

if not id then
	env = envelope(raw)
	if env then
		id = env.id
	else
		-- A bare payload (a Python LPUSH of plain JSON): wrap it, so retries keep its id.
		id = ARGV[3]
		local payload = raw
		if not pcall(cjson.decode, raw) then payload = cjson.encode(raw) end
		raw = '{"id":' .. cjson.encode(id) .. ',"payload":' .. payload .. ',"attempt":0,"maxAttempts":' .. defaultMax
			.. ',"enqueuedAt":' .. now .. ',"source":"bare"}'
		env = { id = id, maxAttempts = defaultMax, enqueuedAt = now }
	end
end

local meta = readMeta(id)
local attempt = (tonumber(meta.a) or tonumber(env.attempt) or 0) + 1
local maxAttempts = tonumber(env.maxAttempts) or defaultMax
local deadline = now + tonumber(ARGV[2])
redis.call('HSET', K_JOBS, id, raw)
redis.call('HSET', K_META, id, cjson.encode({ a = attempt, l = ARGV[4], e = meta.e }))
redis.call('ZADD', K_INFLIGHT, deadline, id)
return {'job', id, raw, attempt, maxAttempts, ARGV[4], deadline, now, meta.e or ''}
