-- Complete (acknowledge) a job in flight: it is gone for good.
-- KEYS: waiting claim priority delayed inflight jobs meta dead ids seq
-- ARGV: 1 id, 2 lease ('' = whoever holds it)
-- Returns 'done', 'missing' (not in flight: unknown, already done, or returned after its
-- visibility timeout) or 'stale' (in flight under another lease: a newer delivery owns it).
local id = ARGV[1]
if not redis.call('ZSCORE', KEYS[5], id) then return 'missing' end
if ARGV[2] ~= '' then
	local m = redis.call('HGET', KEYS[7], id)
	if not m or cjson.decode(m).l ~= ARGV[2] then return 'stale' end
end
redis.call('ZREM', KEYS[5], id)
redis.call('HDEL', KEYS[6], id)
redis.call('HDEL', KEYS[7], id)
redis.call('SREM', KEYS[9], id)
return 'done'
