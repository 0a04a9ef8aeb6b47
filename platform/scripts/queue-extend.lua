-- Extend the visibility deadline of a job in flight (a worker's heartbeat while it runs).
--@keys inflight meta
-- ARGV: 1 id, 2 lease ('' = any), 3 visibility ms from now
-- Returns {'ok', deadline}, {'missing'} or {'stale'}.
--@include server-time.lua
--@include lease.lua
local problem = leaseProblem(ARGV[1], ARGV[2])
if problem then return { problem } end
local deadline = serverTimeMs() + tonumber(ARGV[3])
redis.call('ZADD', K_inflight, deadline, ARGV[1])
return {'ok', deadline}
