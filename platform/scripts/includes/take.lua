--@include server-time.lua
--@include housekeeping.lua
--@include groups.lua
--@include group-limits.lua
-- Moves the next job into flight after the housekeeping, and hands it out under a fresh lease
-- with its visibility deadline in K_inflight.
-- Without groups and limits (the common case) the next job is the ungrouped one: the
-- priority lane first, then a job a blocked consumer just moved to the claim list (it BLMOVEs
-- there and takes from there, so a crash in between strands nothing), then the oldest
-- waiting job. Otherwise the groups take turns (includes/groups.lua), '' being the ungrouped
-- jobs, and a group at one of its limits lets its turn pass.
-- Returns {'job', id, envelope, attempt, maxAttempts, lease, deadline, now, lastError}
--      or {'empty', next delayed run-at (or when a rate-limited group frees) or -1, now,
--          promoted, recovered, buried, held (1 when a group at a limit has ready jobs)}

-- Groups looked at per take: a take never scans a long rotation, and the groups it passed
-- over get new turns, so the next takes look further.
local GROUP_SCAN = 32

-- Pops the first id of a sorted set whose envelope is still there (an id whose envelope
-- vanished, a manual edit, is skipped).
local function popHeld(key)
	for _ = 1, 16 do
		local top = redis.call('ZPOPMIN', key)
		if not top[1] then return nil end
		local raw = redis.call('HGET', K_jobs, top[1])
		if raw then return top[1], raw, envelope(raw) end
	end
	return nil
end

local function popUngrouped()
	local id, raw, env = popHeld(K_priority)
	if raw then return id, raw, env end
	raw = redis.call('RPOP', K_claim) or redis.call('RPOP', K_waiting)
	return nil, raw, nil
end

local function ungroupedReady()
	return redis.call('EXISTS', K_priority, K_claim, K_waiting) > 0
end

-- The next job by the groups' turns: id (nil for a list entry), raw, env and its group; or
-- only, in fifth and sixth place, the earliest time a rate-limited group frees (-1 unknown)
-- and whether a group was held back by a limit.
local function popByTurn(now, limits)
	if ungroupedReady() then joinRotation('') end
	local freeAt, held = -1, false
	for _, group in ipairs(redis.call('ZRANGE', K_groups, 0, GROUP_SCAN - 1)) do
		local blocked, at = groupBlocked(group, now, limits)
		if blocked then
			held = true
			redis.call('ZADD', K_groups, nextTurn(), group)
			if at >= 0 and (freeAt < 0 or at < freeAt) then freeAt = at end
		else
			local id, raw, env
			local left
			if group == '' then
				id, raw, env = popUngrouped()
				left = ungroupedReady()
			else
				id, raw, env = popHeld(groupKey('group', group))
				left = redis.call('EXISTS', groupKey('group', group)) == 1
			end
			if left then redis.call('ZADD', K_groups, nextTurn(), group) else redis.call('ZREM', K_groups, group) end
			if raw then return id, raw, env, group end
		end
	end
	return nil, nil, nil, nil, freeAt, held
end

local function takeJob(visibilityMs, bareId, lease, defaultMax, limit, maxFlight, rateMax, rateWindow)
	local now = serverTimeMs()
	local promoted, recovered, buried = housekeep(now, limit, defaultMax)
	local limits = { flight = maxFlight or 0, rate = rateMax or 0, window = rateWindow or 0 }
	if limits.window <= 0 then limits.rate = 0 end

	local id, raw, env, group, freeAt, held
	if limits.flight == 0 and limits.rate == 0 and redis.call('EXISTS', K_groups) == 0 then
		id, raw, env = popUngrouped()
	else
		id, raw, env, group, freeAt, held = popByTurn(now, limits)
	end
	if not raw then
		local nextDue = tonumber(redis.call('ZRANGE', K_delayed, 0, 0, 'WITHSCORES')[2]) or -1
		if freeAt and freeAt >= 0 and (nextDue < 0 or freeAt < nextDue) then nextDue = freeAt end
		return {'empty', nextDue, now, promoted, recovered, buried, held and 1 or 0}
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
	if group then recordTake(group, id, lease, now, limits) end

	local meta = readMeta(id)
	local attempt = (tonumber(meta.a) or tonumber(env.attempt) or 0) + 1
	local maxAttempts = tonumber(env.maxAttempts) or defaultMax
	local deadline = now + visibilityMs
	redis.call('HSET', K_jobs, id, raw)
	redis.call('HSET', K_meta, id, cjson.encode({ a = attempt, l = lease, e = meta.e }))
	redis.call('ZADD', K_inflight, deadline, id)
	return {'job', id, raw, attempt, maxAttempts, lease, deadline, now, meta.e or ''}
end
