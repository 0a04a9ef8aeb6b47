-- Deletes a lock whose lease ended without a release (its holder crashed), so that the
-- keyspace does not keep one dead key per lock name. Only our own lease values are judged:
-- a key with a Redis TTL (a foreign lock) or a value without a deadline is left alone.
--
--@keys lock
-- K_lock   lock:{name}
-- ARGV[1]  "1" to delete, "0" to only report
--
-- Returns { state, msSinceDeadline }: state 1 ended (deleted when asked), 0 still held or
-- not ours to judge, -1 gone. msSinceDeadline is how long ago the lease ended (0 otherwise).
--@include server-time.lua
--@include lock-value.lua
local key = K_lock
if redis.call('TYPE', key).ok ~= 'string' then
	return { -1, 0 }
end
if redis.call('PTTL', key) >= 0 then
	return { 0, 0 }
end
local held = parseLockValue(redis.call('GET', key))
if not held then
	return { 0, 0 }
end
local now = serverTimeMs()
if held > now then
	return { 0, 0 }
end
if ARGV[1] == '1' then
	redis.call('DEL', key)
end
return { 1, now - held }
