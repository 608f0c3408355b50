-- publish.lua: number and publish a free-form event of an open room.
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at
-- KEYS[2]  room seq           STRING integer
-- ARGV[1]  events channel
-- ARGV[2]  event JSON up to the seq value; ARGV[3] event JSON after it
--
-- Returns {"ok", seq} with the event's seq, or {"unknown"} / {"closed"} with nothing written.
local _, refused = enter(KEYS[1])
if refused then
    return refused
end
local seq = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[1], ARGV[2] .. seq .. ARGV[3])
return {'ok', seq}
