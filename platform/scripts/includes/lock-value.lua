-- Our lock values are "<deadline epoch ms>:<token>" (see lock-acquire.lua). Returns the
-- deadline (a number) and the token, or nil and the whole value for a value without a
-- deadline (a foreign lock's plain token).
local function parseLockValue(value)
	local sep = string.find(value, ':', 1, true)
	local deadline = sep and string.match(string.sub(value, 1, sep - 1), '^%d+$')
	if deadline then return tonumber(deadline), string.sub(value, sep + 1) end
	return nil, value
end

-- A lease length argument: a whole number of milliseconds above 0, or nil.
local function leaseMs(value)
	local ms = tonumber(value)
	if not ms or ms < 1 or ms ~= math.floor(ms) then return nil end
	return ms
end
local BAD_LEASE = 'ERR lock lease must be a whole number of milliseconds above 0'
