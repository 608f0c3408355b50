-- leave.lua: remove one participant and publish the participant_left event.
--
-- KEYS[1]  room participants  HASH participant id -> participant JSON
-- KEYS[2]  room seq           STRING integer
-- KEYS[3]  room carousel      HASH index, version, mode, holder
-- KEYS[4]  room presence      HASH participant id -> presence owner
-- KEYS[5]  room audience      SET participant ids in a live room's audience
-- ARGV[1]  participant id
-- ARGV[2]  events channel
-- ARGV[3]  event JSON up to the seq value; ARGV[4] event JSON after it
-- ARGV[5]  the joined_at of the session to remove, or '' for whichever is in: a late leave
--          of an old session must not remove the same participant's newer one
--
-- Returns the event's seq, or nil (nothing written) if the participant was not in the
-- room, the room is closed or unknown. A leaver holding the remote frees it (the
-- participant_left event says so; no event of its own).
if ARGV[5] ~= '' then
    local raw = redis.call('HGET', KEYS[1], ARGV[1])
    if not raw or cjson.decode(raw)['joined_at'] ~= tonumber(ARGV[5]) then
        return false
    end
end
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then
    return false
end
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('SREM', KEYS[5], ARGV[1])
if redis.call('HGET', KEYS[3], 'holder') == ARGV[1] then
    redis.call('HDEL', KEYS[3], 'holder')
end
local seq = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[2], ARGV[3] .. seq .. ARGV[4])
return seq
