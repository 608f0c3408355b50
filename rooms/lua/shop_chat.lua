-- shop_chat.lua: append a chat message to the room's bounded history; publish chat_message.
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at, ..., slow_mode
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room seq           STRING integer
-- KEYS[4]  room chat          LIST chat message JSON, oldest first
-- KEYS[5]  room stats         HASH votes_cast, chat_messages
-- KEYS[6]  room last chat     HASH participant id -> unix seconds of their latest message
-- ARGV[1]  events channel
-- ARGV[2]  participant id
-- ARGV[3]  history size (messages kept)
-- ARGV[4]  now (unix seconds, the message's `at`)
-- ARGV[5]  n = parts of the message template (holes: seq, name)
-- ARGV[6 .. 5+n] message template, then the event template (holes: seq, data.message)
--
-- Slow mode (rooms.moderation.slow_mode_wait): with meta slow_mode > 0, a participant who is
-- not a host may post once per slow_mode seconds. Returns {"ok", event JSON}, or {"slow",
-- seconds to wait (text)}, {"unknown"}, {"closed"}, {"not_in_room"} with nothing written.
local who, refused = enter(KEYS[1], KEYS[2], ARGV[2], 'participant')
if refused then
    return refused
end
local now = tonumber(ARGV[4])
local slow = tonumber(redis.call('HGET', KEYS[1], 'slow_mode') or 0)
if slow > 0 and not is_host(who.role) then
    local last = redis.call('HGET', KEYS[6], ARGV[2])
    if last and tonumber(last) + slow > now then
        return {'slow', tostring(tonumber(last) + slow - now)}
    end
end
redis.call('HSET', KEYS[6], ARGV[2], ARGV[4])
local n = tonumber(ARGV[5])
return emit(KEYS[3], ARGV[1], argv_from(6 + n), function(seq)
    local message = fill(argv_from(6, 5 + n), {seq, cjson.encode(who.name)})
    redis.call('RPUSH', KEYS[4], message)
    redis.call('LTRIM', KEYS[4], -tonumber(ARGV[3]), -1)
    redis.call('HINCRBY', KEYS[5], 'chat_messages', 1)
    return {message}
end)
