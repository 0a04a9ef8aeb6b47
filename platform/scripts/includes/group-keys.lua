-- A group's own keys, named from K_groups ('{queue:<name>}:groups') by replacing its last
-- word: 'group:<g>', 'group-flight:<g>', 'group-rate:<g>', the prefixes KeySchema.queue lists
-- as `group`, `groupflight` and `grouprate`. They share the queue's hash tag, so they sit in its
-- Cluster slot. They are not passed in KEYS because a take would then carry three more keys on
-- every call, which cost about a tenth of an ungrouped take's time.
local GROUP_KEYS = string.sub(K_groups, 1, -7)
local function groupKey(kind, group)
	return GROUP_KEYS .. kind .. ':' .. group
end
