--@include envelope.lua
--@include meta.lua
--@include requeue.lua
--@include dead-letter.lua
-- The queue's housekeeping, done by every take so that nobody has to schedule it: delayed
-- jobs whose time came go back to waiting, and jobs whose visibility deadline passed (their
-- worker died or hung) return to the head of the queue, or to the dead list once out of
-- attempts. At most `limit` jobs of each kind per call, so one script never runs long.
-- Returns how many jobs were promoted, recovered and buried.
local function housekeep(now, limit, defaultMax)
	local promoted, recovered, buried = 0, 0, 0
	for _, id in ipairs(redis.call('ZRANGEBYSCORE', K_delayed, '-inf', now, 'LIMIT', 0, limit)) do
		redis.call('ZREM', K_delayed, id)
		local raw = redis.call('HGET', K_jobs, id)
		if raw then
			requeue(id, raw, envelope(raw), false)
			promoted = promoted + 1
		end
	end
	for _, id in ipairs(redis.call('ZRANGEBYSCORE', K_inflight, '-inf', now, 'LIMIT', 0, limit)) do
		redis.call('ZREM', K_inflight, id)
		local raw = redis.call('HGET', K_jobs, id)
		if raw then
			local env = envelope(raw)
			local attempt = tonumber(readMeta(id).a) or 1
			local maxAttempts = env and tonumber(env.maxAttempts) or defaultMax
			local reason = 'Visibility timeout expired on attempt ' .. attempt .. ': the worker stopped or took too long'
			if attempt >= maxAttempts then
				deadLetter(id, raw, reason, attempt, maxAttempts, now)
				buried = buried + 1
			else
				redis.call('HSET', K_meta, id, cjson.encode({ a = attempt, e = reason }))
				requeue(id, raw, env, true)
				recovered = recovered + 1
			end
		else
			redis.call('HDEL', K_meta, id)
		end
	end
	return promoted, recovered, buried
end
