-- Token-bucket rate limit: a bucket of `capacity` tokens (the burst) that refills at a
-- steady rate; a request takes one token. Constant memory: one small hash per key with the
-- tokens left and when they were counted (server ms); the bucket is computed forward from
-- there, so nothing is written unless a token is taken. A full bucket and a missing key are
-- the same, so the key expires when the bucket would be full again.
-- Waiters (includes/waiters.lua) are served in arrival order before any newcomer.
--
--@keys limit waiters leases
-- K_limit    the limit's key (ratelimit:{key}): hash { tokens, at }
-- K_waiters  its waiters' tickets by arrival, K_leases the same by lease end
-- ARGV[1]  capacity: tokens a full bucket holds (whole number > 0)
-- ARGV[2]  refill rate in tokens per second (> 0, fractions allowed)
-- ARGV[3]  "1" to take one token when allowed, "0" to only look
-- ARGV[4]  optional: the waiter's ticket (joins the queue when refused); '' for none
-- ARGV[5]  optional: ms a refused waiter's lease lasts past its retry time
--
-- Returns { allowed (1|0), tokens in use (capacity - whole tokens left), retryAfterMs,
--           resetAtMs, nowMs, remaining, waiters queued }
--   retryAfterMs  0 when allowed, else ms until enough tokens have dripped in for this
--                 check and the waiters ahead of it
--   resetAtMs     epoch ms when the bucket is full again (nowMs when it is)
--   remaining     whole tokens left that no queued waiter is owed
--@include server-time.lua
--@include waiters.lua
local key = K_limit
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2]) / 1000
local consume = ARGV[3] == '1'
local ticket = ARGV[4] or ''
local grace = tonumber(ARGV[5] or '0')

local now = serverTimeMs()

local tokens = capacity
local state = redis.call('HMGET', key, 'tokens', 'at')
if state[1] and state[2] then
	tokens = math.min(capacity, tonumber(state[1]) + math.max(0, now - tonumber(state[2])) * rate)
end
local live = waitersLive(now)
local ahead = waitersAhead(ticket, live)

local allowed = 0
if ahead < math.floor(tokens) then
	allowed = 1
	if consume then
		tokens = tokens - 1
		redis.call('HSET', key, 'tokens', tokens, 'at', now)
		redis.call('PEXPIRE', key, math.ceil((capacity - tokens) / rate))
	end
end

local retry = 0
if allowed == 0 then
	retry = math.max(1, math.ceil((ahead + 1 - tokens) / rate))
end

local reset = now + math.ceil((capacity - tokens) / rate)
local whole = math.floor(tokens)
local queued = waitersSettle(ticket, allowed == 1 and consume, now, retry, grace, live)
return { allowed, capacity - whole, retry, reset, now, math.max(0, whole - queued), queued }
