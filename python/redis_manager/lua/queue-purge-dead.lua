-- Delete dead-lettered jobs for good (oldest first), freeing their ids for re-use.
-- KEYS: waiting claim priority delayed inflight jobs meta dead ids seq
-- ARGV: 1 max jobs to delete in this call
-- Returns the number deleted.
local deleted = 0
for _ = 1, tonumber(ARGV[1]) do
	local entry = redis.call('RPOP', KEYS[8])
	if not entry then break end
	local ok, dead = pcall(cjson.decode, entry)
	if ok and type(dead) == 'table' and type(dead.id) == 'string' then redis.call('SREM', KEYS[9], dead.id) end
	deleted = deleted + 1
end
return deleted
