-- mod_hide_chat.lua: a host takes one message out of the chat history; publish chat_hidden.
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at, ...
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room seq           STRING integer
-- KEYS[4]  room chat          LIST chat message JSON, oldest first
-- ARGV[1]  events channel
-- ARGV[2]  who acts: a participant id, or '' for the HTTP API
-- ARGV[3]  the seq of the message to hide
-- ARGV[4 ..] chat_hidden event template (holes: seq)
--
-- Returns {"ok", event JSON}, {"none"} when the history does not hold that message, or
-- {"unknown"}, {"closed"}, {"not_in_room"}, {"forbidden"} with nothing written.
local _, refused = enter(KEYS[1], KEYS[2], ARGV[2], 'host')
if refused then
    return refused
end
local wanted = tonumber(ARGV[3])
for _, raw in ipairs(redis.call('LRANGE', KEYS[4], 0, -1)) do
    if cjson.decode(raw).seq == wanted then
        redis.call('LREM', KEYS[4], 1, raw)
        return emit(KEYS[3], ARGV[1], argv_from(4), {})
    end
end
return {'none'}
