-- create_room.lua: create a room if absent, with its catalog; report its info.
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room catalog       HASH revision, currency, image_base
-- KEYS[4]  room product ids   LIST
-- KEYS[5]  room products      HASH product id -> product JSON
-- KEYS[6]  room variants      SET pair_key(product id, variant id)
-- KEYS[7]  room carousel      HASH index, version, mode, holder
-- KEYS[8]  room shown         HASH product id -> times shown
-- ARGV[1]  capacity to create the room with (int >= 1)
-- ARGV[2]  created_at to create the room with (unix seconds)
-- ARGV[3]  remote mode to create the room with ("host_led" | "everyone")
-- ARGV[4]  catalog currency or ""; ARGV[5] image base or ""
-- ARGV[6]  n = number of products; ARGV[7] m = number of variant keys
-- ARGV[8 .. 7+n] product ids in order, ARGV[8+n .. 7+2n] their JSON, then m variant keys
--
-- Returns {"ok", capacity, created_at, participant_count}; an existing room keeps its
-- own capacity, created_at and catalog. Returns {"closed"} for a closed room (nothing
-- written). Creating a room publishes no event (its seq stays 0).
local closed = redis.call('HGET', KEYS[1], 'closed')
if not closed then
    redis.call('HSET', KEYS[1], 'capacity', ARGV[1], 'closed', '0', 'created_at', ARGV[2])
    redis.call('HSET', KEYS[7], 'index', 0, 'version', 0, 'mode', ARGV[3])
    local n, m = tonumber(ARGV[6]), tonumber(ARGV[7])
    if n > 0 then
        write_catalog(KEYS[3], KEYS[4], KEYS[5], KEYS[6], 0, ARGV[4], ARGV[5],
                      argv_from(8, 7 + n), argv_from(8 + n, 7 + 2 * n),
                      argv_from(8 + 2 * n, 7 + 2 * n + m))
        redis.call('HINCRBY', KEYS[8], ARGV[8], 1)
    end
elseif closed == '1' then
    return {'closed'}
end
local meta = redis.call('HMGET', KEYS[1], 'capacity', 'created_at')
return {'ok', meta[1], meta[2], redis.call('HLEN', KEYS[2])}
