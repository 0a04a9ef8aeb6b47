-- Bring dead-lettered jobs back to the queue with a fresh set of attempts.
-- KEYS: waiting claim priority delayed inflight jobs meta dead ids seq
-- ARGV: 1 max jobs to move, 2 job id ('' = the oldest dead jobs)
-- Returns the number of jobs moved.
-- TIME before writes needs effects replication, the default only from Redis 5 on.
if redis.replicate_commands then redis.replicate_commands() end
local K_WAIT, K_PRI, K_JOBS, K_META, K_DEAD = KEYS[1], KEYS[3], KEYS[6], KEYS[7], KEYS[8]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local function revive(entry)
	local ok, dead = pcall(cjson.decode, entry)
	if not ok or type(dead) ~= 'table' or type(dead.job) ~= 'string' or type(dead.id) ~= 'string' then
		-- Not ours: hand it to Dequeue as a bare payload rather than drop it.
		redis.call('LPUSH', K_WAIT, entry)
		return
	end
	redis.call('HDEL', K_META, dead.id)
	local okJob, env = pcall(cjson.decode, dead.job)
	local p = okJob and type(env) == 'table' and tonumber(env.priority) or 0
	if p ~= p or p < 0 then p = 0 end
	if p > 100 then p = 100 end
	p = math.floor(p)
	if p > 0 then
		redis.call('HSET', K_JOBS, dead.id, dead.job)
		redis.call('ZADD', K_PRI, (101 - p) * 4294967296 + redis.call('INCR', KEYS[10]) % 4294967296, dead.id)
	else
		redis.call('LPUSH', K_WAIT, dead.job)
	end
end

if ARGV[2] ~= '' then
	local entries = redis.call('LRANGE', K_DEAD, 0, -1)
	for _, entry in ipairs(entries) do
		local ok, dead = pcall(cjson.decode, entry)
		if ok and type(dead) == 'table' and dead.id == ARGV[2] then
			redis.call('LREM', K_DEAD, 1, entry)
			revive(entry)
			return 1
		end
	end
	return 0
end

local moved = 0
for _ = 1, tonumber(ARGV[1]) do
	local entry = redis.call('RPOP', K_DEAD)
	if not entry then break end
	revive(entry)
	moved = moved + 1
end
return moved
