-- shop_chat.lua: append a chat message to the room's bounded history; publish chat_message.
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room seq           STRING integer
-- KEYS[4]  room chat          LIST chat message JSON, oldest first
-- KEYS[5]  room stats         HASH votes_cast, chat_messages
-- ARGV[1]  events channel
-- ARGV[2]  participant id
-- ARGV[3]  history size (messages kept)
-- ARGV[4]  n = parts of the message template (holes: seq, name)
-- ARGV[5 .. 4+n] message template, then the event template (holes: seq, data.message)
--
-- Returns {"ok", event JSON}, or {"unknown"}, {"closed"}, {"not_in_room"} with nothing
-- written.
local who, refused = enter(KEYS[1], KEYS[2], ARGV[2], 'participant')
if refused then
    return refused
end
local n = tonumber(ARGV[4])
return emit(KEYS[3], ARGV[1], argv_from(5 + n), function(seq)
    local message = fill(argv_from(5, 4 + n), {seq, cjson.encode(who.name)})
    redis.call('RPUSH', KEYS[4], message)
    redis.call('LTRIM', KEYS[4], -tonumber(ARGV[3]), -1)
    redis.call('HINCRBY', KEYS[5], 'chat_messages', 1)
    return {message}
end)
