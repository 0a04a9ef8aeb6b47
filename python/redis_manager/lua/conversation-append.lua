-- Appends messages to one conversation list, trims it to its newest entries and refreshes
-- its TTL in one atomic step, so no reader (Python agent, n8n memory) ever sees the list
-- untrimmed or without its expiry, and a crash cannot leave it half-updated.
--
-- KEYS: list
local K_list = KEYS[1]
-- K_list   the list
-- ARGV[1]  "L": newest first (LPUSH, LangChain's layout); "R": oldest first (RPUSH)
-- ARGV[2]  keep at most this many messages, the newest ones (0 = no limit)
-- ARGV[3]  TTL in seconds (0 = leave the key's expiry as it is)
-- ARGV[4..] the messages, oldest first, each a JSON string
-- Returns  { length after trimming, number of messages trimmed }

local key = K_list
local newestFirst = ARGV[1] == 'L'
local maxLength = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local push = newestFirst and 'LPUSH' or 'RPUSH'

-- unpack() is bounded by the Lua C stack, so long batches are pushed in slices.
local length = 0
local slice = 500
for first = 4, #ARGV, slice do
	local last = math.min(first + slice - 1, #ARGV)
	length = redis.call(push, key, unpack(ARGV, first, last))
end

local trimmed = 0
if maxLength > 0 and length > maxLength then
	trimmed = length - maxLength
	if newestFirst then
		redis.call('LTRIM', key, 0, maxLength - 1)
	else
		redis.call('LTRIM', key, -maxLength, -1)
	end
	length = maxLength
end

if ttl > 0 then
	redis.call('EXPIRE', key, ttl)
end

return { length, trimmed }
