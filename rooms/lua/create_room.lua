-- create_room.lua: create a room if absent, with its catalog; report its info.
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at, kind, audience_capacity
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room catalog       HASH revision, currency, image_base, checkout
-- KEYS[4]  room product ids   LIST
-- KEYS[5]  room products      HASH product id -> product JSON
-- KEYS[6]  room variants      SET pair_key(product id, variant id)
-- KEYS[7]  room carousel      HASH index, version, mode, holder
-- KEYS[8]  room shown         HASH product id -> times shown
-- KEYS[9]  room audience      SET participant ids in a live room's audience
-- ARGV[1]  capacity to create the room with (int >= 1; a live room's stage)
-- ARGV[2]  created_at to create the room with (unix seconds)
-- ARGV[3]  remote mode to create the room with ("host_led" | "everyone")
-- ARGV[4]  kind to create the room with ("group" | "live")
-- ARGV[5]  audience capacity to create the room with (int >= 1)
-- ARGV[6]  catalog currency or ""; ARGV[7] image base or ""
-- ARGV[8]  the catalog's checkout fields as a JSON object, or "" (rooms.redis_store)
-- ARGV[9]  n = number of products; ARGV[10] m = number of variant keys
-- ARGV[11 .. 10+n] product ids in order, ARGV[11+n .. 10+2n] their JSON, then m variant keys
--
-- Returns {"ok", capacity, created_at, participant_count, kind, audience_capacity,
-- audience_count}; an existing room keeps its own capacity, kind, created_at and catalog.
-- Returns {"closed"} for a closed room (nothing written). Creating a room publishes no
-- event (its seq stays 0).
local closed = redis.call('HGET', KEYS[1], 'closed')
if not closed then
    redis.call('HSET', KEYS[1], 'capacity', ARGV[1], 'closed', '0', 'created_at', ARGV[2],
               'kind', ARGV[4], 'audience_capacity', ARGV[5])
    redis.call('HSET', KEYS[7], 'index', 0, 'version', 0, 'mode', ARGV[3])
    local n, m = tonumber(ARGV[9]), tonumber(ARGV[10])
    if n > 0 then
        write_catalog(KEYS[3], KEYS[4], KEYS[5], KEYS[6], 0, ARGV[6], ARGV[7], ARGV[8],
                      argv_from(11, 10 + n), argv_from(11 + n, 10 + 2 * n),
                      argv_from(11 + 2 * n, 10 + 2 * n + m))
        redis.call('HINCRBY', KEYS[8], ARGV[11], 1)
    end
elseif closed == '1' then
    return {'closed'}
end
local meta = redis.call('HMGET', KEYS[1], 'capacity', 'created_at', 'kind', 'audience_capacity')
return {'ok', meta[1], meta[2], redis.call('HLEN', KEYS[2]), meta[3] or 'group',
        meta[4] or '', redis.call('SCARD', KEYS[9])}
