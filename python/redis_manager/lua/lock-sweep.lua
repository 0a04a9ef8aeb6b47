-- Deletes a lock whose lease ended without a release (its holder crashed), so that the
-- keyspace does not keep one dead key per lock name. Only our own lease values are judged:
-- a key with a Redis TTL (a foreign lock) or a value without a deadline is left alone.
--
-- KEYS[1]  lock:{name}
-- ARGV[1]  "1" to delete, "0" to only report
--
-- Returns { state, msSinceDeadline }: state 1 ended (deleted when asked), 0 still held or
-- not ours to judge, -1 gone. msSinceDeadline is how long ago the lease ended (0 otherwise).
local key = KEYS[1]
if redis.call('TYPE', key).ok ~= 'string' then
	return { -1, 0 }
end
if redis.call('PTTL', key) >= 0 then
	return { 0, 0 }
end
local current = redis.call('GET', key)
local sep = string.find(current, ':', 1, true)
local held = sep and string.match(string.sub(current, 1, sep - 1), '^%d+$')
if not held then
	return { 0, 0 }
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
held = tonumber(held)
if held > now then
	return { 0, 0 }
end
if ARGV[1] == '1' then
	redis.call('DEL', key)
end
return { 1, now - held }
