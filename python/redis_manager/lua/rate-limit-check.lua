-- Exact sliding-window rate limit: one sorted set per limited key, one member per
-- request that was let through, scored by the server's clock in milliseconds.
-- A request made at time s counts against every check made before s + window.
--
-- KEYS: limit
local K_limit = KEYS[1]
-- K_limit  the limit's key (ratelimit:{key})
-- ARGV[1]  max requests per window (whole number > 0)
-- ARGV[2]  window length in milliseconds (whole number > 0)
-- ARGV[3]  "1" to consume one request when allowed, "0" to only look
-- ARGV[4]  a random nonce from the caller: makes the member unique even when two
--          requests land in the same microsecond
--
-- Returns { allowed (1|0), requests now in the window, retryAfterMs, resetAtMs, nowMs }
--   retryAfterMs  0 when allowed, else ms until the oldest blocking request leaves
--   resetAtMs     epoch ms when the window is empty again (nowMs when it already is)
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
local key = K_limit
local max = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local consume = ARGV[3] == '1'

local now, time = serverTimeMs()

redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)

local allowed = 0
if count < max then
	allowed = 1
	if consume then
		redis.call('ZADD', key, now, time[1] .. '.' .. time[2] .. ':' .. ARGV[4])
		count = count + 1
		-- The newest request is the last to leave the window, so the key can go with it.
		redis.call('PEXPIRE', key, window)
	end
end

local retry = 0
if allowed == 0 then
	-- With count >= max, a slot frees when the request at index (count - max) leaves.
	local blocking = redis.call('ZRANGE', key, count - max, count - max, 'WITHSCORES')
	retry = tonumber(blocking[2]) + window - now
end

local reset = now
if count > 0 then
	local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
	reset = tonumber(newest[2]) + window
end

return { allowed, count, retry, reset, now }
