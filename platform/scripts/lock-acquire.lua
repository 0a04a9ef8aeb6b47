-- Takes a lock only when nobody holds it (the same SET NX PX that redis-py's
-- r.set(name, token, nx=True, px=ttl) does), and reports the server-side expiry.
--
-- KEYS[1]  lock:{name}
-- ARGV[1]  the caller's random token
-- ARGV[2]  TTL in milliseconds (whole number > 0)
--
-- Returns { 1, expiresAtMs } when taken, or { 0, pttl of the current holder }
-- (-1 when the holder set no TTL). The holder's token is never returned: it is
-- what lets its owner release the lock.
local taken = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
if taken then
	local time = redis.call('TIME')
	local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
	return { 1, now + tonumber(ARGV[2]) }
end
return { 0, redis.call('PTTL', KEYS[1]) }
