--@include server-time.lua
--@include housekeeping.lua
-- Moves the next job into flight after the housekeeping: the priority lane first, then a job
-- a blocked consumer just moved to the claim list (it BLMOVEs there and takes from there, so
-- a crash in between strands nothing), then the oldest waiting job. The job is recorded in
-- K_inflight with its visibility deadline and handed out under a fresh lease.
-- Returns {'job', id, envelope, attempt, maxAttempts, lease, deadline, now, lastError}
--      or {'empty', next delayed run-at or -1, now, promoted, recovered, buried}
local function takeJob(visibilityMs, bareId, lease, defaultMax, limit)
	local now = serverTimeMs()
	local promoted, recovered, buried = housekeep(now, limit, defaultMax)

	local id, raw, env
	-- An id whose envelope vanished (a manual edit) is skipped.
	for _ = 1, 16 do
		local top = redis.call('ZPOPMIN', K_priority)
		if not top[1] then break end
		raw = redis.call('HGET', K_jobs, top[1])
		if raw then
			id = top[1]
			env = envelope(raw)
			break
		end
	end
	if not raw then raw = redis.call('RPOP', K_claim) end
	if not raw then raw = redis.call('RPOP', K_waiting) end
	if not raw then
		local nextDue = redis.call('ZRANGE', K_delayed, 0, 0, 'WITHSCORES')
		return {'empty', tonumber(nextDue[2]) or -1, now, promoted, recovered, buried}
	end

	if not id then
		env = envelope(raw)
		if env then
			id = env.id
		else
			-- A bare payload (a Python LPUSH of plain JSON): wrap it, so retries keep its id.
			id = bareId
			local payload = raw
			if not pcall(cjson.decode, raw) then payload = cjson.encode(raw) end
			raw = '{"id":' .. cjson.encode(id) .. ',"payload":' .. payload .. ',"attempt":0,"maxAttempts":' .. defaultMax
				.. ',"enqueuedAt":' .. now .. ',"source":"bare"}'
			env = { id = id, maxAttempts = defaultMax, enqueuedAt = now }
		end
	end

	local meta = readMeta(id)
	local attempt = (tonumber(meta.a) or tonumber(env.attempt) or 0) + 1
	local maxAttempts = tonumber(env.maxAttempts) or defaultMax
	local deadline = now + visibilityMs
	redis.call('HSET', K_jobs, id, raw)
	redis.call('HSET', K_meta, id, cjson.encode({ a = attempt, l = lease, e = meta.e }))
	redis.call('ZADD', K_inflight, deadline, id)
	return {'job', id, raw, attempt, maxAttempts, lease, deadline, now, meta.e or ''}
end
