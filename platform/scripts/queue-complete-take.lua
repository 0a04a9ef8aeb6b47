-- Complete, then take the next job, in one call: a worker's ack of a finished job also
-- fetches its next one (one round trip per job). The take happens whatever the ack's
-- outcome: 'stale' or 'missing' only mean the finished job is no longer ours.
--@keys waiting claim priority delayed inflight jobs meta dead ids seq groups
-- ARGV: 1 id, 2 lease ('' = whoever holds it), then Dequeue's ARGV (queue-take.lua) from 3
-- Returns {Complete's reply, Dequeue's reply}
--@include complete.lua
--@include take.lua
local completed = completeJob(ARGV[1], ARGV[2])
return { completed, takeJob(tonumber(ARGV[3]), ARGV[4], ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])) }
