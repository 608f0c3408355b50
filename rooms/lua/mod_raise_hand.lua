-- mod_raise_hand.lua: a viewer raises (or lowers) its hand to come up to the stage; publish
-- hand_raised (rooms.moderation.check_hand).
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at, ...
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room seq           STRING integer
-- KEYS[4]  room hands         SET participant ids with a raised hand
-- ARGV[1]  events channel
-- ARGV[2]  the viewer's participant id
-- ARGV[3]  "1" to raise, "0" to lower
-- ARGV[4 ..] hand_raised event template (holes: seq)
--
-- Returns {"ok", event JSON}, {"none"} when the hand already was so, or {"unknown"},
-- {"closed"}, {"not_in_room"}, {"forbidden"} (not a viewer) with nothing written.
local who, refused = enter(KEYS[1], KEYS[2], ARGV[2], 'participant')
if refused then
    return refused
end
if who.role ~= 'viewer' then
    return {'forbidden'}
end
local changed
if ARGV[3] == '1' then
    changed = redis.call('SADD', KEYS[4], ARGV[2])
else
    changed = redis.call('SREM', KEYS[4], ARGV[2])
end
if changed == 0 then
    return {'none'}
end
return emit(KEYS[3], ARGV[1], argv_from(4), {})
