-- Gives a lock a new lease only when it still carries the caller's token and its current
-- lease has not ended (an ended lease may already have been taken over by someone else's
-- Acquire; the caller must Acquire again instead).
--
-- KEYS[1]  lock:{name}
-- ARGV[1]  the token returned by Acquire
-- ARGV[2]  new lease in milliseconds, counted from now (whole number > 0)
--
-- Our locks: value "<deadline ms>:<token>", no TTL (see lock-acquire.lua); the new
-- deadline is written into the value. A foreign lock (it has a TTL, its value is the token)
-- gets a new TTL instead, as redis-py would give it.
--
-- Returns { 1, deadlineMs } extended, { 0, 0 } held under another token,
-- { -1, 0 } not held by anyone, { -2, 0 } the caller's lease already ended.
local key = KEYS[1]
local ttl = tonumber(ARGV[2])
if not ttl or ttl < 1 or ttl ~= math.floor(ttl) then
	return redis.error_reply('ERR lock lease must be a whole number of milliseconds above 0')
end
local current = redis.call('GET', key)
if not current then
	return { -1, 0 }
end
if redis.replicate_commands then
	redis.replicate_commands()
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local deadline = now + ttl
if redis.call('PTTL', key) >= 0 then
	if current ~= ARGV[1] then
		return { 0, 0 }
	end
	redis.call('PEXPIRE', key, ttl)
	return { 1, deadline }
end
local sep = string.find(current, ':', 1, true)
local held = sep and string.match(string.sub(current, 1, sep - 1), '^%d+$')
local holder = held and string.sub(current, sep + 1) or current
if holder ~= ARGV[1] then
	return { 0, 0 }
end
if held and tonumber(held) <= now then
	return { -2, 0 }
end
redis.call('SET', key, string.format('%d', deadline) .. ':' .. ARGV[1])
return { 1, deadline }
