-- Recover Stalled: the housekeeping every Dequeue does (includes/housekeeping.lua), on its
-- own, for monitoring or to drain a queue nobody takes from.
--@keys waiting priority delayed inflight jobs meta dead seq groups
-- ARGV: 1 max attempts of bare payloads, 2 max jobs moved per kind in this call
-- Returns {promoted, recovered, buried}
--@include server-time.lua
--@include housekeeping.lua
local promoted, recovered, buried = housekeep(serverTimeMs(), tonumber(ARGV[2]), tonumber(ARGV[1]))
return { promoted, recovered, buried }
