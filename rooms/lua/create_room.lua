-- create_room.lua: create a room if absent; report its info.
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- ARGV[1]  capacity to create the room with (int >= 1)
-- ARGV[2]  created_at to create the room with (unix seconds)
--
-- Returns {"ok", capacity, created_at, participant_count}; an existing room keeps its
-- own capacity and created_at. Returns {"closed"} for a closed room (nothing written).
local closed = redis.call('HGET', KEYS[1], 'closed')
if not closed then
    redis.call('HSET', KEYS[1], 'capacity', ARGV[1], 'closed', '0', 'created_at', ARGV[2])
elseif closed == '1' then
    return {'closed'}
end
local meta = redis.call('HMGET', KEYS[1], 'capacity', 'created_at')
return {'ok', meta[1], meta[2], redis.call('HLEN', KEYS[2])}
