-- Deletes a lock only when it carries the caller's token: compare and delete in one step,
-- so a lock whose lease ended and that another worker then took is never removed.
--
-- KEYS: lock
local K_lock = KEYS[1]
-- K_lock   lock:{name}
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
local deadline, holder = parseLockValue(current)
if holder ~= ARGV[1] then
	return 0
end
redis.call('DEL', key)
if not deadline then
	return 1
end
if deadline > serverTimeMs() then
	return 1
end
return 2
