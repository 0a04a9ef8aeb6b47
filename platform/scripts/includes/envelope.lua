-- The decoded envelope of a stored job, or nil for anything else (a bare payload a producer
-- pushed without one, or text that is not JSON).
local function envelope(raw)
	local ok, v = pcall(cjson.decode, raw)
	if ok and type(v) == 'table' and type(v.id) == 'string' and v.payload ~= nil then return v end
	return nil
end
