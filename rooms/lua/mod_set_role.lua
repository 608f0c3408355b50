-- mod_set_role.lua: a live room's viewer up to the stage (guest) or a guest back to the
-- audience (rooms.moderation.check_stage_move); publish role_changed.
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at, kind, ...
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room seq           STRING integer
-- KEYS[4]  room audience      SET participant ids in a live room's audience
-- KEYS[5]  room carousel      HASH index, version, mode, holder
-- KEYS[6]  room hands         SET participant ids with a raised hand (the mover's is lowered)
-- ARGV[1]  events channel
-- ARGV[2]  who acts: a participant id, or '' for the HTTP API
-- ARGV[3]  the participant moved
-- ARGV[4]  its new role: "guest" (to the stage) or "viewer" (to the audience)
-- ARGV[5 ..] role_changed event template (holes: seq)
--
-- Hosts move anyone; a guest may step down to the audience by itself. Returns {"ok", event
-- JSON}, or {"unknown"}, {"closed"}, {"not_in_room"}, {"forbidden"} (a group room, not a
-- host, or not a viewer <-> guest move), {"full"} (the stage is full) with nothing written.
local who, refused = enter(KEYS[1], KEYS[2], ARGV[2], nil)
if refused then
    return refused
end
local raw = redis.call('HGET', KEYS[2], ARGV[3])
if not raw then
    return {'not_in_room'}
end
if redis.call('HGET', KEYS[1], 'kind') ~= 'live' then
    return {'forbidden'}
end
local role, wanted = cjson.decode(raw).role, ARGV[4]
local stepping_down = who.id == ARGV[3] and wanted == 'viewer'
if not stepping_down and not is_host(who.role) then
    return {'forbidden'}
end
if not ((role == 'viewer' and wanted == 'guest') or (role == 'guest' and wanted == 'viewer')) then
    return {'forbidden'}
end
if wanted == 'guest' then
    local stage = redis.call('HLEN', KEYS[2]) - redis.call('SCARD', KEYS[4])
    if stage >= tonumber(redis.call('HGET', KEYS[1], 'capacity')) then
        return {'full'}
    end
    redis.call('SREM', KEYS[4], ARGV[3])
else
    redis.call('SADD', KEYS[4], ARGV[3])
    if redis.call('HGET', KEYS[5], 'holder') == ARGV[3] then
        redis.call('HDEL', KEYS[5], 'holder')
    end
end
-- Splice the role into the stored JSON text rather than re-encode it: cjson keeps 14
-- significant digits, which would change joined_at (the session's stamp). Inside a name a
-- quote is escaped, so the first '"role":"<role>"' is the role's own.
local needle = '"role":"' .. role .. '"'
local at = string.find(raw, needle, 1, true)
local updated = string.sub(raw, 1, at - 1) .. '"role":"' .. wanted .. '"' ..
    string.sub(raw, at + #needle)
redis.call('HSET', KEYS[2], ARGV[3], updated)
redis.call('SREM', KEYS[6], ARGV[3])
return emit(KEYS[3], ARGV[1], argv_from(5), {})
