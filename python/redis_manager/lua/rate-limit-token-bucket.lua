-- Token-bucket rate limit: a bucket of `capacity` tokens (the burst) that refills at a
-- steady rate; a request takes one token. Constant memory: one small hash per key with the
-- tokens left and when they were counted (server ms); the bucket is computed forward from
-- there, so nothing is written unless a token is taken. A full bucket and a missing key are
-- the same, so the key expires when the bucket would be full again.
-- Waiters (includes/waiters.lua) are served in arrival order before any newcomer.
--
-- KEYS: limit waiters leases
local K_limit, K_waiters, K_leases = KEYS[1], KEYS[2], KEYS[3]
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
