--@include server-time.lua
-- A job's result record, read by waiters (Enqueue with Wait for Result, Get Job Result):
-- {queue-tag}:result:<id>, a string with a TTL, written in the same script that settles the
-- job (a reader never sees a job gone without its result) and PUBLISHed on a channel of the
-- same name, which is what a waiter subscribes to before it reads the key.
-- The key is built from the queue's hash tag rather than passed in KEYS: the housekeeping
-- buries jobs the caller cannot name in advance. The tag keeps it in the queue's slot.
local RESULT_TTL_MS = 86400000

local function resultKey(id)
	return string.sub(K_meta, 1, -5) .. 'result:' .. id
end

local function storeResult(id, record, ttlMs)
	local key = resultKey(id)
	redis.call('SET', key, record, 'PX', ttlMs)
	-- pcall: the job is already settled when this runs and Redis does not roll a script back, so
	-- an ACL user without this channel (Redis 7 users start with none) must not turn a done job
	-- into an error; waiters still find the record by the read that follows their SUBSCRIBE.
	redis.pcall('PUBLISH', key, record)
end

-- A completed job's record; `result` is JSON text from the caller (text that is not JSON is
-- kept as a JSON string, so the record always parses).
local function completedRecord(id, result, now)
	if result == nil or result == '' then result = 'null'
	elseif not pcall(cjson.decode, result) then result = cjson.encode(result) end
	return '{"id":' .. cjson.encode(id) .. ',"status":"completed","result":' .. result .. ',"completedAt":' .. now .. '}'
end

local function deadRecord(id, reason, attempt, now)
	return '{"id":' .. cjson.encode(id) .. ',"status":"dead","error":' .. cjson.encode(reason) .. ',"attempt":' .. attempt
		.. ',"failedAt":' .. now .. '}'
end
