-- Exact sliding-window rate limit: one sorted set per limited key, one member per
-- request that was let through, scored by the server's clock in milliseconds.
-- A request made at time s counts against every check made before s + window.
-- Waiters (includes/waiters.lua) are served in arrival order before any newcomer.
--
--@keys limit waiters leases
-- K_limit    the limit's key (ratelimit:{key})
-- K_waiters  its waiters' tickets by arrival, K_leases the same by lease end
-- ARGV[1]  max requests per window (whole number > 0)
-- ARGV[2]  window length in milliseconds (whole number > 0)
-- ARGV[3]  "1" to consume one request when allowed, "0" to only look
-- ARGV[4]  a random nonce from the caller: makes the member unique even when two
--          requests land in the same microsecond
-- ARGV[5]  optional: the waiter's ticket (joins the queue when refused); '' or absent for none
-- ARGV[6]  optional: ms a refused waiter's lease lasts past its retry time
--
-- Returns { allowed (1|0), requests now in the window, retryAfterMs, resetAtMs, nowMs,
--           remaining, waiters queued }
--   retryAfterMs  0 when allowed, else ms until this check could be allowed, assuming the
--                 waiters ahead take their slots as soon as they free
--   resetAtMs     epoch ms when the window is empty again (nowMs when it already is)
--   remaining     free requests in the window not owed to a queued waiter
--@include server-time.lua
--@include waiters.lua
local key = K_limit
local max = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local consume = ARGV[3] == '1'
local ticket = ARGV[5] or ''
local grace = tonumber(ARGV[6] or '0')

local now, time = serverTimeMs()

redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
local live = waitersLive(now)
local ahead = waitersAhead(ticket, live)

local allowed = 0
if ahead < max - count then
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
	-- Slots free as the newest max requests leave the window, oldest first; the waiters ahead
	-- take them in turn, and each slot serves again one window after it was taken.
	local turns = math.floor(ahead / max)
	local at = ahead % max + count - max
	local frees = now
	if at >= 0 then
		local blocking = redis.call('ZRANGE', key, at, at, 'WITHSCORES')
		frees = tonumber(blocking[2]) + window
	end
	retry = frees + turns * window - now
end

local reset = now
if count > 0 then
	local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
	reset = tonumber(newest[2]) + window
end

local queued = waitersSettle(ticket, allowed == 1 and consume, now, retry, grace, live)
return { allowed, count, retry, reset, now, math.max(0, max - count - queued), queued }
