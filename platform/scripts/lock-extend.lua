-- Sets a new TTL on a lock only when it still carries the caller's token.
--
-- KEYS[1]  lock:{name}
-- ARGV[1]  the token returned by Acquire
-- ARGV[2]  new TTL in milliseconds, counted from now (whole number > 0)
--
-- Returns { 1, expiresAtMs } extended, { 0, 0 } held under another token,
-- { -1, 0 } not held by anyone.
local current = redis.call('GET', KEYS[1])
if not current then
	return { -1, 0 }
end
if current ~= ARGV[1] then
	return { 0, 0 }
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
return { 1, now + tonumber(ARGV[2]) }
