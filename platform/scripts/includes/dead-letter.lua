--@include result.lua
-- Moves a job to the dead list, newest first, with the error that ended it. The envelope is
-- kept as a string so Retry Dead restores it byte for byte; the entry is written by hand so
-- its fields keep this order and its numbers print as integers for the Python readers.
-- A waiter on the job learns the error from its result record.
local function deadLetter(id, raw, reason, attempt, maxAttempts, now)
	local entry = '{"id":' .. cjson.encode(id) .. ',"error":' .. cjson.encode(reason) .. ',"attempt":' .. attempt
		.. ',"maxAttempts":' .. maxAttempts .. ',"failedAt":' .. now .. ',"job":' .. cjson.encode(raw) .. '}'
	redis.call('LPUSH', K_dead, entry)
	redis.call('HDEL', K_jobs, id)
	redis.call('HDEL', K_meta, id)
	storeResult(id, deadRecord(id, reason, attempt, now), RESULT_TTL_MS)
end
