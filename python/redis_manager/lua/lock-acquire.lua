-- Takes a lock when nobody holds it, or when the holder's lease has ended.
--
-- The lock key carries NO Redis TTL: redis.conf evicts keys with a TTL first
-- (volatile-lru), and an evicted lock would let a second worker in while the first still
-- works. The lease end is written into the value instead, and this script compares it with
-- the server's clock, so a crashed holder still frees the lock at its deadline.
--
-- KEYS: lock
local K_lock = KEYS[1]
-- K_lock   lock:{name}
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
-- >>> includes/server-time.lua
-- The Redis server's clock, never the caller's: hosts with skewed clocks still agree on
-- deadlines, windows and backoff. Returns epoch milliseconds and the raw TIME reply.
-- Before Redis 5 a script may not write after reading TIME unless it replicates its effects
-- instead of itself. Switching that on must happen before the script's first write, so it
-- runs here, where the fragment is pasted (above the script's body); from Redis 5 on it is a
-- no-op.
if redis.replicate_commands then redis.replicate_commands() end
local function serverTimeMs()
	local t = redis.call('TIME')
	return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), t
end
-- <<< includes/server-time.lua
-- >>> includes/lock-value.lua
-- Our lock values are "<deadline epoch ms>:<token>" (see lock-acquire.lua). Returns the
-- deadline (a number) and the token, or nil and the whole value for a value without a
-- deadline (a foreign lock's plain token).
local function parseLockValue(value)
	local sep = string.find(value, ':', 1, true)
	local deadline = sep and string.match(string.sub(value, 1, sep - 1), '^%d+$')
	if deadline then return tonumber(deadline), string.sub(value, sep + 1) end
	return nil, value
end

-- A lease length argument: a whole number of milliseconds above 0, or nil.
local function leaseMs(value)
	local ms = tonumber(value)
	if not ms or ms < 1 or ms ~= math.floor(ms) then return nil end
	return ms
end
local BAD_LEASE = 'ERR lock lease must be a whole number of milliseconds above 0'
-- <<< includes/lock-value.lua
local key = K_lock
local token = ARGV[1]
local ttl = leaseMs(ARGV[2])
if token == nil or token == '' then
	return redis.error_reply('ERR lock token is empty')
end
if not ttl then
	return redis.error_reply(BAD_LEASE)
end

local now = serverTimeMs()
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
local held = parseLockValue(redis.call('GET', key))
if not held then
	-- A plain value without a deadline and without a TTL: someone locked it for good.
	return { 0, -1 }
end
if held > now then
	return { 0, held - now }
end
-- The lease ended and nobody released it (a crashed holder): take it over.
redis.call('SET', key, value)
return { 1, deadline, 1 }
