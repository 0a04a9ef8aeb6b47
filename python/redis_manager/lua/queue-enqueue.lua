-- Enqueue one job (envelope built by the caller).
-- KEYS: waiting claim priority delayed inflight jobs meta dead ids seq (every queue script takes all ten)
-- ARGV: 1 id, 2 envelope JSON, 3 de-duplicate ('1' = refuse an id that is still live or dead),
--       4 delay ms, 5 run-at epoch ms (0 = none), 6 priority (0 = normal)
-- Returns {1, runAt} when enqueued, {0, 0} when the id is a duplicate.
-- Normal jobs go to the waiting list (LPUSH, so a Python BRPOP consumer sees them oldest-first);
-- delayed and prioritised jobs are held by id, with their envelope in the jobs hash.
-- TIME before writes needs effects replication, the default only from Redis 5 on.
if redis.replicate_commands then redis.replicate_commands() end
local id = ARGV[1]
if ARGV[3] == '1' and redis.call('SADD', KEYS[9], id) == 0 then
	return {0, 0}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local runAt = now + tonumber(ARGV[4])
local at = tonumber(ARGV[5])
if at > runAt then runAt = at end
local priority = tonumber(ARGV[6])
if runAt > now then
	redis.call('HSET', KEYS[6], id, ARGV[2])
	redis.call('ZADD', KEYS[4], runAt, id)
	return {1, runAt}
end
if priority > 0 then
	redis.call('HSET', KEYS[6], id, ARGV[2])
	-- Higher priority first; within one priority, first in first out (the seq counter).
	redis.call('ZADD', KEYS[3], (101 - priority) * 4294967296 + redis.call('INCR', KEYS[10]) % 4294967296, id)
	return {1, now}
end
redis.call('LPUSH', KEYS[1], ARGV[2])
return {1, now}
