-- Fail a job in flight: retry it after an exponential backoff (via the delayed set) until it
-- has used its attempts, then move it to the dead-letter list with the error kept.
-- KEYS: waiting claim priority delayed inflight jobs meta dead ids seq
-- ARGV: 1 id, 2 lease ('' = any), 3 error text, 4 base backoff ms (-1 = the job's own),
--       5 retry ('1'; '0' = dead-letter now), 6 max backoff ms, 7 default max attempts, 8 default backoff ms
-- Returns {'retry', attempt, runAt}, {'dead', attempt, failedAt}, {'missing'} or {'stale'}.
-- TIME before writes needs effects replication, the default only from Redis 5 on.
if redis.replicate_commands then redis.replicate_commands() end
local K_DELAYED, K_INFLIGHT, K_JOBS, K_META, K_DEAD = KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local id = ARGV[1]
if not redis.call('ZSCORE', K_INFLIGHT, id) then return {'missing'} end
local m = redis.call('HGET', K_META, id)
local meta = m and cjson.decode(m) or {}
if ARGV[2] ~= '' and meta.l ~= ARGV[2] then return {'stale'} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local raw = redis.call('HGET', K_JOBS, id) or '{}'
local ok, env = pcall(cjson.decode, raw)
if not ok or type(env) ~= 'table' then env = {} end
local attempt = tonumber(meta.a) or 1
local maxAttempts = tonumber(env.maxAttempts) or tonumber(ARGV[7])
redis.call('ZREM', K_INFLIGHT, id)
if ARGV[5] ~= '1' or attempt >= maxAttempts then
	local entry = '{"id":' .. cjson.encode(id) .. ',"error":' .. cjson.encode(ARGV[3]) .. ',"attempt":' .. attempt
		.. ',"maxAttempts":' .. maxAttempts .. ',"failedAt":' .. now .. ',"job":' .. cjson.encode(raw) .. '}'
	redis.call('LPUSH', K_DEAD, entry)
	redis.call('HDEL', K_JOBS, id)
	redis.call('HDEL', K_META, id)
	return {'dead', attempt, now}
end
local base = tonumber(ARGV[4])
if base < 0 then base = tonumber(env.backoffMs) or tonumber(ARGV[8]) end
local delay = base * 2 ^ (attempt - 1)
local cap = tonumber(ARGV[6])
if delay > cap then delay = cap end
local runAt = now + math.floor(delay)
redis.call('HSET', K_META, id, cjson.encode({ a = attempt, e = ARGV[3] }))
redis.call('ZADD', K_DELAYED, runAt, id)
return {'retry', attempt, runAt}
