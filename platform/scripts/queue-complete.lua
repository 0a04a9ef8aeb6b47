-- Complete (acknowledge) a job in flight: it is gone for good.
--@keys inflight meta jobs ids
-- ARGV: 1 id, 2 lease ('' = whoever holds it), 3 result JSON, 4 result TTL ms (0 or absent =
--       store no result record)
-- Returns 'done', 'missing' (not in flight: unknown, already done, or returned after its
-- visibility timeout) or 'stale' (in flight under another lease: a newer delivery owns it).
--@include complete.lua
return completeJob(ARGV[1], ARGV[2], ARGV[3], ARGV[4])
