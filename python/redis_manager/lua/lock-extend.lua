-- Gives a lock a new lease only when it still carries the caller's token and its current
-- lease has not ended (an ended lease may already have been taken over by someone else's
-- Acquire; the caller must Acquire again instead).
--
-- KEYS: lock
local K_lock = KEYS[1]
-- K_lock   lock:{name}
-- ARGV[1]  the token returned by Acquire
-- ARGV[2]  new lease in milliseconds, counted from now (whole number > 0)
--
-- Our locks: value "<deadline ms>:<token>", no TTL (see lock-acquire.lua); the new
-- deadline is written into the value. A foreign lock (it has a TTL, its value is the token)
-- gets a new TTL instead, as redis-py would give it.
--
-- Returns { 1, deadlineMs } extended, { 0, 0 } held under another token,
-- { -1, 0 } not held by anyone, { -2, 0 } the caller's lease already ended.
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
local ttl = leaseMs(ARGV[2])
if not ttl then
	return redis.error_reply(BAD_LEASE)
end
local current = redis.call('GET', key)
if not current then
	return { -1, 0 }
end
local now = serverTimeMs()
local deadline = now + ttl
if redis.call('PTTL', key) >= 0 then
	if current ~= ARGV[1] then
		return { 0, 0 }
	end
	redis.call('PEXPIRE', key, ttl)
	return { 1, deadline }
end
local held, holder = parseLockValue(current)
if holder ~= ARGV[1] then
	return { 0, 0 }
end
if held and held <= now then
	return { -2, 0 }
end
redis.call('SET', key, string.format('%d', deadline) .. ':' .. ARGV[1])
return { 1, deadline }
