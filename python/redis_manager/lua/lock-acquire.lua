-- Takes a lock when nobody holds it, or when the holder's lease has ended.
--
-- The lock key carries NO Redis TTL: redis.conf evicts keys with a TTL first
-- (volatile-lru), and an evicted lock would let a second worker in while the first still
-- works. The lease end is written into the value instead, and this script compares it with
-- the server's clock, so a crashed holder still frees the lock at its deadline.
--
-- KEYS[1]  lock:{name}
-- ARGV[1]  the caller's random token (not empty)
-- ARGV[2]  lease length in milliseconds (whole number > 0)
--
-- Value: "<deadline epoch ms>:<token>", e.g. "1764178553123:9f0c...". A key that HAS a
-- Redis TTL is a foreign lock (redis-py `SET NX EX`, or this package before leases moved
-- into the value): its whole value is the holder's token and its TTL is its lease, so it
-- blocks until Redis expires it.
--
-- Returns { 1, deadlineMs, tookOver } when taken (tookOver 1 when an ended lease was
-- replaced), or { 0, heldForMs } when held (-1 when the holder set no deadline at all).
-- The holder's token is never returned: it is what lets its owner release the lock.
local key = KEYS[1]
local token = ARGV[1]
local ttl = tonumber(ARGV[2])
if token == nil or token == '' then
	return redis.error_reply('ERR lock token is empty')
end
if not ttl or ttl < 1 or ttl ~= math.floor(ttl) then
	return redis.error_reply('ERR lock lease must be a whole number of milliseconds above 0')
end

-- Redis before 5 refuses writes after TIME unless effects are replicated; a no-op from 5 on.
if redis.replicate_commands then
	redis.replicate_commands()
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local deadline = now + ttl
local value = string.format('%d', deadline) .. ':' .. token

local kind = redis.call('TYPE', key).ok
if kind == 'none' then
	redis.call('SET', key, value)
	return { 1, deadline, 0 }
end
local pttl = redis.call('PTTL', key)
if kind ~= 'string' or pttl >= 0 then
	-- Not ours to judge: held until Redis expires it (or forever when it has no TTL).
	return { 0, pttl }
end
local current = redis.call('GET', key)
local sep = string.find(current, ':', 1, true)
local held = sep and string.match(string.sub(current, 1, sep - 1), '^%d+$')
if not held then
	-- A plain value without a deadline and without a TTL: someone locked it for good.
	return { 0, -1 }
end
held = tonumber(held)
if held > now then
	return { 0, held - now }
end
-- The lease ended and nobody released it (a crashed holder): take it over.
redis.call('SET', key, value)
return { 1, deadline, 1 }
