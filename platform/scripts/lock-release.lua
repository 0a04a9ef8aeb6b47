-- Deletes a lock only when it still carries the caller's token: compare and delete in
-- one step, so a lock that expired and was taken by another worker is never removed.
--
-- KEYS[1]  lock:{name}
-- ARGV[1]  the token returned by Acquire
--
-- Returns 1 released, 0 held under another token (left alone), -1 not held by anyone.
local current = redis.call('GET', KEYS[1])
if not current then
	return -1
end
if current ~= ARGV[1] then
	return 0
end
redis.call('DEL', KEYS[1])
return 1
