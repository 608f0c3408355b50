-- mod_remove.lua: a host removes a participant, or bans a participant id for the room's life
-- (removing it if it is in); rooms.moderation.check_target: not oneself, not a host.
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at, ...
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room seq           STRING integer
-- KEYS[4]  room presence      HASH participant id -> presence owner
-- KEYS[5]  room audience      SET participant ids in a live room's audience
-- KEYS[6]  room carousel      HASH index, version, mode, holder
-- KEYS[7]  room bans          SET banned participant ids
-- ARGV[1]  events channel
-- ARGV[2]  who acts: a participant id, or '' for the HTTP API
-- ARGV[3]  the participant removed or banned
-- ARGV[4]  "1" to ban, "0" to remove only
-- ARGV[5]  n = parts of the participant_left template (holes: seq; reason "removed" or
--          "banned"); ARGV[6 .. 5+n] that template, then the participant_banned template
--          (holes: seq) when banning
--
-- Returns {"ok", participant_left event JSON} (remove) or {"ok", participant_banned event
-- JSON, participant_left event JSON or false} (ban), or {"unknown"}, {"closed"},
-- {"not_in_room"} (the actor; the participant, when removing), {"forbidden"} with nothing
-- written.
local who, refused = enter(KEYS[1], KEYS[2], ARGV[2], 'host')
if refused then
    return refused
end
local banning = ARGV[4] == '1'
local raw = redis.call('HGET', KEYS[2], ARGV[3])
if raw then
    if who.id == ARGV[3] or is_host(cjson.decode(raw).role) then
        return {'forbidden'}
    end
elseif not banning then
    return {'not_in_room'}
end
local n = tonumber(ARGV[5])
local left = false
if raw then
    redis.call('HDEL', KEYS[2], ARGV[3])
    redis.call('HDEL', KEYS[4], ARGV[3])
    redis.call('SREM', KEYS[5], ARGV[3])
    if redis.call('HGET', KEYS[6], 'holder') == ARGV[3] then
        redis.call('HDEL', KEYS[6], 'holder')
    end
    left = emit(KEYS[3], ARGV[1], argv_from(6, 5 + n), {})[2]
end
if not banning then
    return {'ok', left}
end
redis.call('SADD', KEYS[7], ARGV[3])
return {'ok', emit(KEYS[3], ARGV[1], argv_from(6 + n), {})[2], left}
