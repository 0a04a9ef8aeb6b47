-- Fixed-window counter: windows aligned to the epoch on the server's clock (a 1-day window
-- runs from 00:00 UTC), one counter per key for the current window. Constant memory, so it
-- suits very large limits; the price is that a burst at the end of one window and the start
-- of the next may let up to twice the limit through within one window's length.
-- Waiters (includes/waiters.lua) are served in arrival order before any newcomer.
--
--@keys limit waiters leases
-- K_limit    the limit's key (ratelimit:{key}): hash { start, count }
-- K_waiters  its waiters' tickets by arrival, K_leases the same by lease end
-- ARGV[1]  max requests per window (whole number > 0)
-- ARGV[2]  window length in milliseconds (whole number > 0)
-- ARGV[3]  "1" to count one request when allowed, "0" to only look
-- ARGV[4]  optional: the waiter's ticket (joins the queue when refused); '' for none
-- ARGV[5]  optional: ms a refused waiter's lease lasts past its retry time
--
-- Returns { allowed (1|0), requests counted in this window, retryAfterMs, resetAtMs, nowMs,
--           remaining, waiters queued }
--   retryAfterMs  0 when allowed, else ms until the window in which this check (behind the
--                 waiters ahead of it) would fit
--   resetAtMs     end of the current window (nowMs when nothing is counted in it)
--   remaining     requests left in this window that no queued waiter is owed
--@include server-time.lua
--@include waiters.lua
local key = K_limit
local max, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local consume, ticket, grace = ARGV[3] == '1', ARGV[4] or '', tonumber(ARGV[5] or '0')

local now = serverTimeMs()
local start = now - now % window

-- The stored start, not the key's TTL, says which window the count belongs to: at the very
-- millisecond a window ends Redis still holds the key, but its count is the old window's.
local count = 0
local state = redis.call('HMGET', key, 'start', 'count')
if state[1] and tonumber(state[1]) == start then
	count = tonumber(state[2])
end
local live = waitersLive(now)
local ahead = waitersAhead(ticket, live)
local free = math.max(0, max - count)

local allowed = 0
if ahead < free then
	allowed = 1
	if consume then
		count = count + 1
		redis.call('HSET', key, 'start', start, 'count', count)
		redis.call('PEXPIRE', key, start + window - now)
	end
end

local retry = 0
if allowed == 0 then
	-- The waiters ahead fill this window's free slots, then max per later window.
	local turns = math.floor((ahead - free) / max)
	retry = start + (turns + 1) * window - now
end

local reset = now
if count > 0 then
	reset = start + window
end

local queued = waitersSettle(ticket, allowed == 1 and consume, now, retry, grace, live)
return { allowed, count, retry, reset, now, math.max(0, free - (allowed == 1 and consume and 1 or 0) - queued), queued }
