-- pin_room.lua: which node serves a room's media; pins it to the least-loaded live node first.
--
-- KEYS[1]  node registry      HASH presence owner -> node entry JSON (node_beat.lua)
-- KEYS[2]  room pins          HASH room id -> presence owner
-- KEYS[3]  pinned counts      HASH presence owner -> rooms pinned to it (int)
-- ARGV[1]  room id
-- ARGV[2]  the asking node's presence owner (wins ties: no redirect when it is as good)
-- ARGV[3]  node timeout in milliseconds: a node whose last beat is older is presumed dead
-- ARGV[4]  weight of one core of CPU in the load score (see below)
-- ARGV[5]  '1': the asking node serves the room already (Redis lost the pin, or it came back
--          after being presumed dead): pin it to the asker if that is live and not draining
--
-- A pin holds while its node is live and not draining. Otherwise (no pin, its node silent
-- for longer than ARGV[3] ms, or draining) the room is pinned to the live, not draining node
-- with the lowest load score
--     pinned rooms + peers + ARGV[4] * cpu
-- (pinned rooms counted here, atomically, so a burst of new rooms spreads at once; peers and
-- cpu as of the node's last beat), ties to the asking node, then the lowest owner.
--
-- Returns {owner, node entry JSON, status}: status 'kept' (the pin held), 'pinned' (new pin)
-- or 'moved' (re-pinned from a dead or draining node); {false, false, 'none'} if no node is
-- live and accepting rooms (nothing written).
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local timeout = tonumber(ARGV[3])

local function live(raw)
    if not raw then
        return nil
    end
    local entry = cjson.decode(raw)
    if now_ms - (tonumber(entry.beat_ms) or 0) > timeout then
        return nil
    end
    return entry
end

local current = redis.call('HGET', KEYS[2], ARGV[1])
if current then
    local raw = redis.call('HGET', KEYS[1], current)
    local entry = live(raw)
    if entry and not entry.draining then
        return {current, raw, 'kept'}
    end
end

local best, best_raw, best_score = nil, nil, nil
if ARGV[5] == '1' then
    local raw = redis.call('HGET', KEYS[1], ARGV[2])
    local entry = live(raw)
    if entry and not entry.draining then
        best, best_raw = ARGV[2], raw
    end
end
local all = {}
if best == nil then
    all = redis.call('HGETALL', KEYS[1])
end
for i = 1, #all, 2 do
    local owner, raw = all[i], all[i + 1]
    local entry = live(raw)
    if entry and not entry.draining then
        local pinned = tonumber(redis.call('HGET', KEYS[3], owner) or '0')
        local score = pinned + (tonumber(entry.peers) or 0) + tonumber(ARGV[4]) * (tonumber(entry.cpu) or 0)
        local better = best == nil or score < best_score
        if not better and score == best_score then
            better = owner == ARGV[2] or (best ~= ARGV[2] and owner < best)
        end
        if better then
            best, best_raw, best_score = owner, raw, score
        end
    end
end
if best == nil then
    return {false, false, 'none'}
end
redis.call('HSET', KEYS[2], ARGV[1], best)
redis.call('HINCRBY', KEYS[3], best, 1)
if current then
    if tonumber(redis.call('HINCRBY', KEYS[3], current, -1)) <= 0 then
        redis.call('HDEL', KEYS[3], current)
    end
    return {best, best_raw, 'moved'}
end
return {best, best_raw, 'pinned'}
