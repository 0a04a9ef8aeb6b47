-- Exact sliding-window rate limit: one sorted set per limited key, one member per
-- request that was let through, scored by the server's clock in milliseconds.
-- A request made at time s counts against every check made before s + window.
--
-- KEYS[1]  the limit's key (ratelimit:{key})
-- ARGV[1]  max requests per window (whole number > 0)
-- ARGV[2]  window length in milliseconds (whole number > 0)
-- ARGV[3]  "1" to consume one request when allowed, "0" to only look
-- ARGV[4]  a random nonce from the caller: makes the member unique even when two
--          requests land in the same microsecond
--
-- Returns { allowed (1|0), requests now in the window, retryAfterMs, resetAtMs, nowMs }
--   retryAfterMs  0 when allowed, else ms until the oldest blocking request leaves
--   resetAtMs     epoch ms when the window is empty again (nowMs when it already is)
local key = KEYS[1]
local max = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local consume = ARGV[3] == '1'

-- Redis before 5 replicates scripts verbatim and refuses writes after TIME unless told to
-- replicate the effects instead; from Redis 5 on this is the default and the call is a no-op.
if redis.replicate_commands then
	redis.replicate_commands()
end

-- The server's clock, never the callers': workers with skewed clocks still share one window.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

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
