--@include meta.lua
-- Why the caller may not settle job `id`: 'missing' when it is not in flight (unknown, done,
-- or returned after its visibility timeout), 'stale' when another delivery owns it now.
-- Otherwise nil, and the job's meta when the lease had to be read to check it (lease '' =
-- whoever holds the job, and skips that read).
local function leaseProblem(id, lease)
	if not redis.call('ZSCORE', K_inflight, id) then return 'missing' end
	if lease == '' then return nil end
	local meta = readMeta(id)
	if meta.l ~= lease then return 'stale' end
	return nil, meta
end
