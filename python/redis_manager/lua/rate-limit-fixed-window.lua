-- Fixed-window counter: windows aligned to the epoch on the server's clock (a 1-day window
-- runs from 00:00 UTC), one counter per key for the current window. Constant memory, so it
-- suits very large limits; the price is that a burst at the end of one window and the start
-- of the next may let up to twice the limit through within one window's length.
-- Waiters (includes/waiters.lua) are served in arrival order before any newcomer.
--
-- KEYS: limit waiters leases
local K_limit, K_waiters, K_leases = KEYS[1], KEYS[2], KEYS[3]
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
-- >>> includes/waiters.lua
-- The ticket queue of a limit's waiters (Rate Limit > Check, Wait Until Allowed), shared by
-- every algorithm. K_waiters holds the tickets by arrival (score: a sequence number), K_leases
-- the same tickets by lease end (server ms). A waiter renews its lease on every check; one that
-- crashed stops renewing, so its ticket is dropped when the lease ends instead of blocking the
-- queue for good. A check without a ticket (Route to Limited, Status, Python) counts every live
-- waiter as ahead of it, so polling callers cannot overtake the queue.

-- Drops the tickets whose lease ended; returns how many waiters are left. Nobody waits on
-- most keys most of the time, and then this costs one ZCARD.
local function waitersLive(now)
	local live = redis.call('ZCARD', K_waiters)
	if live == 0 then
		return 0
	end
	local ended = redis.call('ZRANGEBYSCORE', K_leases, '-inf', now, 'LIMIT', 0, 1000)
	if #ended == 0 then
		return live
	end
	redis.call('ZREM', K_waiters, unpack(ended))
	redis.call('ZREM', K_leases, unpack(ended))
	return redis.call('ZCARD', K_waiters)
end

-- How many waiters are ahead of this check. A ticket not in the queue (a first check, or a
-- waiter whose lease ended while it was late) joins at the tail.
local function waitersAhead(ticket, live)
	if ticket == '' then
		return live
	end
	local rank = redis.call('ZRANK', K_waiters, ticket)
	if rank then
		return rank
	end
	local last = redis.call('ZRANGE', K_waiters, -1, -1, 'WITHSCORES')
	local seq = 1
	if #last > 0 then
		seq = tonumber(last[2]) + 1
	end
	redis.call('ZADD', K_waiters, seq, ticket)
	return live
end

-- An admitted ticket leaves the queue; a refused one keeps its place, leased for its sleep
-- (retry) plus the grace. The queue's keys expire with their last lease. Returns how many
-- waiters are queued now (`live` for a check without a ticket, which changed nothing).
local function waitersSettle(ticket, admitted, now, retry, grace, live)
	if ticket == '' then
		return live
	end
	if admitted then
		redis.call('ZREM', K_waiters, ticket)
		redis.call('ZREM', K_leases, ticket)
	else
		redis.call('ZADD', K_leases, now + retry + grace, ticket)
	end
	local newest = redis.call('ZRANGE', K_leases, -1, -1, 'WITHSCORES')
	if #newest > 0 then
		local ttl = tonumber(newest[2]) - now
		redis.call('PEXPIRE', K_waiters, ttl)
		redis.call('PEXPIRE', K_leases, ttl)
	end
	return redis.call('ZCARD', K_waiters)
end
-- <<< includes/waiters.lua
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
