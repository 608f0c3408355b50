-- reap.lua: remove every participant of a room held under a lapsed lease; one participant_left
-- (reason in the template, "node_lost") per participant.
--
-- KEYS[1]  room participants  HASH participant id -> participant JSON
-- KEYS[2]  room presence      HASH participant id -> presence owner
-- KEYS[3]  room seq           STRING integer
-- KEYS[4]  room carousel      HASH index, version, mode, holder
-- KEYS[5]  room audience      SET participant ids in a live room's audience
-- ARGV[1]  the presence owner whose lease lapsed
-- ARGV[2]  events channel
-- ARGV[3 ..] participant_left event template (holes: seq, participant id as JSON text)
--
-- Returns {participant id...} removed (empty if none: a second reaper finds nothing). A
-- removed participant holding the remote frees it (the participant_left event says so).
local presence = redis.call('HGETALL', KEYS[2])
local template = argv_from(3)
local removed = {}
for i = 1, #presence, 2 do
    local id, owner = presence[i], presence[i + 1]
    if owner == ARGV[1] then
        redis.call('HDEL', KEYS[2], id)
        redis.call('SREM', KEYS[5], id)
        if redis.call('HDEL', KEYS[1], id) == 1 then
            if redis.call('HGET', KEYS[4], 'holder') == id then
                redis.call('HDEL', KEYS[4], 'holder')
            end
            emit(KEYS[3], ARGV[2], template, {cjson.encode(id)})
            removed[#removed + 1] = id
        end
    end
end
return removed
