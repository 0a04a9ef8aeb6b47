-- Complete (acknowledge) a job in flight: it is gone for good.
--@keys inflight meta jobs ids
-- ARGV: 1 id, 2 lease ('' = whoever holds it)
-- Returns 'done', 'missing' (not in flight: unknown, already done, or returned after its
-- visibility timeout) or 'stale' (in flight under another lease: a newer delivery owns it).
--@include complete.lua
return completeJob(ARGV[1], ARGV[2])
