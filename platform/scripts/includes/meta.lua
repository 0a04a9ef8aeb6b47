-- A job's live counters in K_meta: a = attempt, l = lease of the current delivery, e = the
-- error of the previous attempt. Kept apart from the envelope, which stays as the producer
-- wrote it.
local function readMeta(id)
	local m = redis.call('HGET', K_meta, id)
	if m then return cjson.decode(m) end
	return {}
end
