-- Deletes a lock only when it carries the caller's token: compare and delete in one step,
-- so a lock whose lease ended and that another worker then took is never removed.
--
-- KEYS[1]  lock:{name}
-- ARGV[1]  the token returned by Acquire
--
-- Our locks have no TTL and the value "<deadline ms>:<token>" (see lock-acquire.lua); a
-- key with a TTL is a foreign lock whose whole value is the token (redis-py SET NX EX).
--
-- Returns  1 released (the lease was still running)
--          2 the caller's lease had already ended but nobody took the lock over: the key
--            is deleted all the same (it is the caller's), reported apart so the caller
--            knows it ran past its lease
--          0 held under another token (left alone)
--         -1 not held by anyone
local key = KEYS[1]
local current = redis.call('GET', key)
if not current then
	return -1
end
if redis.call('PTTL', key) >= 0 then
	if current ~= ARGV[1] then
		return 0
	end
	redis.call('DEL', key)
	return 1
end
local sep = string.find(current, ':', 1, true)
local deadline = sep and string.match(string.sub(current, 1, sep - 1), '^%d+$')
local holder = deadline and string.sub(current, sep + 1) or current
if holder ~= ARGV[1] then
	return 0
end
redis.call('DEL', key)
if not deadline then
	return 1
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
if tonumber(deadline) > now then
	return 1
end
return 2
