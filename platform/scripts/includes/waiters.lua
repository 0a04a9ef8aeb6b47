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
