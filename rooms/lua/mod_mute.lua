-- mod_mute.lua: a host mutes a participant's microphone or camera; publish participant_muted.
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at, ...
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room seq           STRING integer
-- ARGV[1]  events channel
-- ARGV[2]  who acts: a participant id, or '' for the HTTP API
-- ARGV[3]  the participant muted
-- ARGV[4 ..] participant_muted event template (holes: seq)
--
-- Returns {"ok", event JSON}, or {"unknown"}, {"closed"}, {"not_in_room"} (the actor or the
-- participant), {"forbidden"} (not a host) with nothing written.
local _, refused = enter(KEYS[1], KEYS[2], ARGV[2], 'host')
if refused then
    return refused
end
if redis.call('HEXISTS', KEYS[2], ARGV[3]) == 0 then
    return {'not_in_room'}
end
return emit(KEYS[3], ARGV[1], argv_from(4), {})
