-- Enqueue one job (envelope built by the caller).
--@keys ids delayed jobs priority seq waiting groups
-- ARGV: 1 id, 2 envelope JSON, 3 de-duplicate ('1' = refuse an id that is still live or dead),
--       4 delay ms, 5 run-at epoch ms (0 = none), 6 priority (0 = normal), 7 group ('' = none)
-- Returns {1, runAt} when enqueued, {0, 0} when the id is a duplicate.
-- Normal jobs go to the waiting list (LPUSH, so a Python BRPOP consumer sees them oldest-first);
-- delayed, prioritised and grouped jobs are held by id, with their envelope in the jobs hash
-- (a delayed job's group is in its envelope, read when it becomes due).
--@include server-time.lua
--@include groups.lua
local id = ARGV[1]
if ARGV[3] == '1' and redis.call('SADD', K_ids, id) == 0 then
	return {0, 0}
end
local now = serverTimeMs()
local runAt = now + tonumber(ARGV[4])
local at = tonumber(ARGV[5])
if at > runAt then runAt = at end
if runAt > now then
	redis.call('HSET', K_jobs, id, ARGV[2])
	redis.call('ZADD', K_delayed, runAt, id)
	return {1, runAt}
end
local priority = priorityOf({ priority = ARGV[6] })
-- ARGV[7] absent (a caller from before groups) is the ungrouped group.
if (ARGV[7] or '') ~= '' then
	addToGroup(id, ARGV[2], ARGV[7], priority, false)
	return {1, now}
end
if priority > 0 then
	redis.call('HSET', K_jobs, id, ARGV[2])
	redis.call('ZADD', K_priority, priorityScore(priority), id)
	return {1, now}
end
redis.call('LPUSH', K_waiting, ARGV[2])
return {1, now}
