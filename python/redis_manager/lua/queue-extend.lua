-- Extend the visibility deadline of a job in flight (a worker's heartbeat while it runs).
-- KEYS: waiting claim priority delayed inflight jobs meta dead ids seq
-- ARGV: 1 id, 2 lease ('' = any), 3 visibility ms from now
-- Returns {'ok', deadline}, {'missing'} or {'stale'}.
-- TIME before writes needs effects replication, the default only from Redis 5 on.
if redis.replicate_commands then redis.replicate_commands() end
local id = ARGV[1]
if not redis.call('ZSCORE', KEYS[5], id) then return {'missing'} end
if ARGV[2] ~= '' then
	local m = redis.call('HGET', KEYS[7], id)
	if not m or cjson.decode(m).l ~= ARGV[2] then return {'stale'} end
end
local t = redis.call('TIME')
local deadline = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[3])
redis.call('ZADD', KEYS[5], deadline, id)
return {'ok', deadline}
