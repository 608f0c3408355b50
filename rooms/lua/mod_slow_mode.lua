-- mod_slow_mode.lua: a host sets the room's slow mode for chat; publish slow_mode_changed.
--
-- KEYS[1]  room meta          HASH ..., slow_mode
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room seq           STRING integer
-- ARGV[1]  events channel
-- ARGV[2]  who acts: a participant id, or '' for the HTTP API
-- ARGV[3]  seconds between two chat messages of one participant (0 = off)
-- ARGV[4 ..] slow_mode_changed event template (holes: seq)
--
-- Returns {"ok", event JSON}, or {"unknown"}, {"closed"}, {"not_in_room"}, {"forbidden"}
-- with nothing written.
local _, refused = enter(KEYS[1], KEYS[2], ARGV[2], 'host')
if refused then
    return refused
end
redis.call('HSET', KEYS[1], 'slow_mode', ARGV[3])
return emit(KEYS[3], ARGV[1], argv_from(4), {})
