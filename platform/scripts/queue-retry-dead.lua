-- Bring dead-lettered jobs back to the queue with a fresh set of attempts.
--@keys waiting priority jobs meta dead seq groups
-- ARGV: 1 max jobs to move, 2 job id ('' = the oldest dead jobs)
-- Returns the number of jobs moved.
--@include requeue.lua
--@include result.lua

local function revive(entry)
	local ok, dead = pcall(cjson.decode, entry)
	if not ok or type(dead) ~= 'table' or type(dead.job) ~= 'string' or type(dead.id) ~= 'string' then
		-- Not ours: hand it to Dequeue as a bare payload rather than drop it.
		redis.call('LPUSH', K_waiting, entry)
		return
	end
	redis.call('HDEL', K_meta, dead.id)
	-- Its dead record would tell a later reader the job ended while it runs again.
	redis.call('DEL', resultKey(dead.id))
	local okJob, env = pcall(cjson.decode, dead.job)
	requeue(dead.id, dead.job, okJob and env, false)
end

if ARGV[2] ~= '' then
	local entries = redis.call('LRANGE', K_dead, 0, -1)
	for _, entry in ipairs(entries) do
		local ok, dead = pcall(cjson.decode, entry)
		if ok and type(dead) == 'table' and dead.id == ARGV[2] then
			redis.call('LREM', K_dead, 1, entry)
			revive(entry)
			return 1
		end
	end
	return 0
end

local moved = 0
for _ = 1, tonumber(ARGV[1]) do
	local entry = redis.call('RPOP', K_dead)
	if not entry then break end
	revive(entry)
	moved = moved + 1
end
return moved
