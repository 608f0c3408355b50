-- join.lua: admit one participant under capacity, creating the room if absent; publish the event.
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at, kind, audience_capacity
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room seq           STRING integer
-- KEYS[4 .. 11]  the shopping keys _shop_lib.shop_state reads (RoomKeys.shop_state order)
-- KEYS[12] room presence      HASH participant id -> presence owner
-- KEYS[13] room audience      SET participant ids in a live room's audience
-- KEYS[14] room bans          SET banned participant ids
-- KEYS[15] room stats         HASH ..., views, peak_viewers (a live room's audience, for the recap)
-- KEYS[16] room hands         SET participant ids with a raised hand
-- ARGV[1]  participant id
-- ARGV[2]  participant JSON (joined_at already stamped)
-- ARGV[3]  capacity to create the room with if absent (int >= 1)
-- ARGV[4]  created_at to create the room with if absent (unix seconds)
-- ARGV[5]  events channel (a channel is not a key, so it is not in KEYS)
-- ARGV[6]  event JSON up to the seq value; ARGV[7] event JSON after it
-- ARGV[8]  presence owner (the joining node's incarnation): the participant lives under its lease
-- ARGV[9]  the participant's role
-- ARGV[10] audience capacity of a room created here (a group room: unused)
--
-- rooms.live: in a live room a viewer takes an audience seat (audience capacity), anyone else
-- a stage seat (capacity = participants - audience); in a group room everyone a stage seat.
-- Returns {"ok", seq, capacity, created_at, {participant JSON...}, shop_state, kind,
-- audience_capacity, slow_mode, {raised hand id...}, unlisted}: a live room's viewer gets the
-- stage and itself listed, ``unlisted`` counting the rest of the audience (else 0); the room just after the join, seq being the participant_joined event's.
-- Returns {"closed"}, {"banned"}, {"already_joined"}, {"audience_full"} or {"full"}
-- (checked in that order) with nothing written.
local closed = redis.call('HGET', KEYS[1], 'closed')
if not closed then
    redis.call('HSET', KEYS[1], 'capacity', ARGV[3], 'closed', '0', 'created_at', ARGV[4],
               'kind', 'group', 'audience_capacity', ARGV[10])
elseif closed == '1' then
    return {'closed'}
end
if redis.call('SISMEMBER', KEYS[14], ARGV[1]) == 1 then
    return {'banned'}
end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
    return {'already_joined'}
end
local meta = redis.call('HMGET', KEYS[1], 'capacity', 'created_at', 'kind', 'audience_capacity',
                        'slow_mode')
local audience = redis.call('SCARD', KEYS[13])
if meta[3] == 'live' and ARGV[9] == 'viewer' then
    if audience >= tonumber(meta[4]) then
        return {'audience_full'}
    end
    redis.call('SADD', KEYS[13], ARGV[1])
    redis.call('HINCRBY', KEYS[15], 'views', 1)
    if audience + 1 > tonumber(redis.call('HGET', KEYS[15], 'peak_viewers') or 0) then
        redis.call('HSET', KEYS[15], 'peak_viewers', audience + 1)
    end
elseif redis.call('HLEN', KEYS[2]) - audience >= tonumber(meta[1]) then
    return {'full'}
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[12], ARGV[1], ARGV[8])
redis.call('SREM', KEYS[16], ARGV[1])
local seq = redis.call('INCR', KEYS[3])
redis.call('PUBLISH', ARGV[5], ARGV[6] .. seq .. ARGV[7])
-- A live room's viewer is shown the stage and itself (_shop_lib.listed_for).
local viewer = ''
if meta[3] == 'live' and ARGV[9] == 'viewer' then
    viewer = ARGV[1]
end
local listed, unlisted = listed_for(KEYS[2], KEYS[13], viewer)
return {'ok', seq, meta[1], meta[2], listed,
        shop_state({KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11]}),
        meta[3] or 'group', meta[4] or '', meta[5] or '0', redis.call('SMEMBERS', KEYS[16]),
        unlisted}
