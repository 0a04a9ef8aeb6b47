-- Hand a job in flight back untouched (a worker shutting down, or a manual test run): it
-- returns to the head of the queue and the delivery does not count as an attempt.
-- KEYS: waiting claim priority delayed inflight jobs meta dead ids seq
-- ARGV: 1 id, 2 lease ('' = any)
-- Returns 'released', 'missing' or 'stale'.
-- TIME before writes needs effects replication, the default only from Redis 5 on.
if redis.replicate_commands then redis.replicate_commands() end
local id = ARGV[1]
if not redis.call('ZSCORE', KEYS[5], id) then return 'missing' end
local m = redis.call('HGET', KEYS[7], id)
local meta = m and cjson.decode(m) or {}
if ARGV[2] ~= '' and meta.l ~= ARGV[2] then return 'stale' end
redis.call('ZREM', KEYS[5], id)
local attempt = (tonumber(meta.a) or 1) - 1
if attempt > 0 or meta.e then
	redis.call('HSET', KEYS[7], id, cjson.encode({ a = attempt, e = meta.e }))
else
	redis.call('HDEL', KEYS[7], id)
end
local raw = redis.call('HGET', KEYS[6], id)
if not raw then return 'missing' end
local ok, env = pcall(cjson.decode, raw)
local p = ok and type(env) == 'table' and tonumber(env.priority) or 0
if p ~= p or p < 0 then p = 0 end
if p > 100 then p = 100 end
p = math.floor(p)
if p > 0 then
	redis.call('ZADD', KEYS[3], (101 - p) * 4294967296 + redis.call('INCR', KEYS[10]) % 4294967296, id)
else
	redis.call('HDEL', KEYS[6], id)
	redis.call('RPUSH', KEYS[1], raw)
end
return 'released'
