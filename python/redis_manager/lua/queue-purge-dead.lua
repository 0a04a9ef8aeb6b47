-- Delete dead-lettered jobs for good (oldest first), freeing their ids for re-use.
-- KEYS: dead ids
local K_dead, K_ids = KEYS[1], KEYS[2]
-- ARGV: 1 max jobs to delete in this call
-- Returns the number deleted.
local deleted = 0
for _ = 1, tonumber(ARGV[1]) do
	local entry = redis.call('RPOP', K_dead)
	if not entry then break end
	local ok, dead = pcall(cjson.decode, entry)
	if ok and type(dead) == 'table' and type(dead.id) == 'string' then redis.call('SREM', K_ids, dead.id) end
	deleted = deleted + 1
end
return deleted
