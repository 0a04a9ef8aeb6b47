-- Complete, then take the next job, in one call: a worker's ack of a finished job also
-- fetches its next one (one round trip per job). The take happens whatever the ack's
-- outcome: 'stale' or 'missing' only mean the finished job is no longer ours.
--@keys waiting claim priority delayed inflight jobs meta dead ids seq groups
-- ARGV: 1 id, 2 lease ('' = whoever holds it), 3 result JSON, 4 result TTL ms (0 = none),
--       then Dequeue's ARGV (queue-take.lua) from 5
-- Returns {Complete's reply, Dequeue's reply}
--@include complete.lua
--@include take.lua
local completed = completeJob(ARGV[1], ARGV[2], ARGV[3], ARGV[4])
return { completed, takeJob(tonumber(ARGV[5]), ARGV[6], ARGV[7], tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12])) }
