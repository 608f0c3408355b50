-- shop_pass_remote.lua: hand the carousel's remote to a participant (or free it);
-- publish carousel_changed.
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room seq           STRING integer
-- KEYS[4]  room product ids   LIST
-- KEYS[5]  room carousel      HASH index, version, mode, holder
-- ARGV[1]  events channel
-- ARGV[2]  participant id handing it, "" for the HTTP API
-- ARGV[3]  participant id to hold it, "" to free it
-- ARGV[4 ..] event template (holes: seq, data.carousel)
--
-- Returns {"ok", event JSON}, or {"unknown"}, {"closed"}, {"not_in_room"} (either
-- participant), {"forbidden"} (rooms.shopping.can_hand_remote / can_hold_remote) with
-- nothing written.
local who, refused = enter(KEYS[1], KEYS[2], ARGV[2])
if refused then
    return refused
end
local c = carousel_get(KEYS[5])
if not may_move(c.mode, who.role, who.id and c.holder == who.id) then
    return {'forbidden'}
end
if ARGV[3] == '' then
    redis.call('HDEL', KEYS[5], 'holder')
    c.holder = false
else
    local holder = actor(KEYS[2], ARGV[3])
    if not holder then
        return {'not_in_room'}
    elseif holder.role == 'viewer' then
        return {'forbidden'}
    end
    redis.call('HSET', KEYS[5], 'holder', ARGV[3])
    c.holder = ARGV[3]
end
return emit(KEYS[3], ARGV[1], argv_from(4), {carousel_json(KEYS[4], c)})
