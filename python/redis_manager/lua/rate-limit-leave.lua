-- A waiter gives up (its Max Wait passed, or its execution was cancelled): its ticket leaves
-- the queue at once, so the waiters behind it move up without waiting for its lease to end.
--
-- KEYS: waiters leases
local K_waiters, K_leases = KEYS[1], KEYS[2]
-- K_waiters  the limit's waiters' tickets by arrival, K_leases the same by lease end
-- ARGV[1]  the waiter's ticket
--
-- Returns 1 when the ticket was queued, 0 when it was not (admitted, or its lease had ended)
local removed = redis.call('ZREM', K_waiters, ARGV[1])
redis.call('ZREM', K_leases, ARGV[1])
return removed
