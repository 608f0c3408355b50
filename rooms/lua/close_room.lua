-- close_room.lua: close a room for good, remove everyone, publish room_closed.
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room seq           STRING integer
-- KEYS[4]  room presence      HASH participant id -> presence owner
-- KEYS[5]  room audience      SET participant ids in a live room's audience
-- ARGV[1]  events channel
-- ARGV[2]  event JSON up to the seq value; ARGV[3] event JSON after it
--
-- Returns {"ok", seq} with the room_closed event's seq, or {"unknown"} / {"closed"} with
-- nothing written.
local _, refused = enter(KEYS[1])
if refused then
    return refused
end
redis.call('HSET', KEYS[1], 'closed', '1')
redis.call('DEL', KEYS[2], KEYS[4], KEYS[5])
local seq = redis.call('INCR', KEYS[3])
redis.call('PUBLISH', ARGV[1], ARGV[2] .. seq .. ARGV[3])
return {'ok', seq}
