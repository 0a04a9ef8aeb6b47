-- Dequeue: takes the next job into flight, after the queue's housekeeping (see
-- includes/housekeeping.lua and includes/take.lua).
--@keys waiting claim priority delayed inflight jobs meta dead seq groups
-- ARGV: 1 visibility ms, 2 id for a bare payload, 3 lease token, 4 default max attempts,
--       5 max jobs moved per housekeeping step, 6 max in flight per group (0 = no limit),
--       7 max takes per group in a window (0 = no limit), 8 that window in ms
-- Returns {'job', id, envelope, attempt, maxAttempts, lease, deadline, now, lastError}
--      or {'empty', next delayed run-at or -1, now, promoted, recovered, buried, held by a limit (1/0)}
--@include take.lua
return takeJob(tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]))
