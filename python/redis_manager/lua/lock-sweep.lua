-- Deletes a lock whose lease ended without a release (its holder crashed), so that the
-- keyspace does not keep one dead key per lock name. Only our own lease values are judged:
-- a key with a Redis TTL (a foreign lock) or a value without a deadline is left alone.
--
-- KEYS: lock
local K_lock = KEYS[1]
-- K_lock   lock:{name}
-- ARGV[1]  "1" to delete, "0" to only report
--
-- Returns { state, msSinceDeadline }: state 1 ended (deleted when asked), 0 still held or
-- not ours to judge, -1 gone. msSinceDeadline is how long ago the lease ended (0 otherwise).
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
