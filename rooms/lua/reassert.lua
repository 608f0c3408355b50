-- reassert.lua: make a room hold exactly the node's live participants under the node's lease,
-- after Redis came back (maybe empty), or the node's lease lapsed and it was reaped.
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room presence      HASH participant id -> presence owner
-- KEYS[4]  room seq           STRING integer
-- KEYS[5]  room carousel      HASH index, version, mode, holder
-- KEYS[6]  room audience      SET participant ids in a live room's audience
-- KEYS[7]  room bans          SET banned participant ids
-- ARGV[1]  presence owner (this node's incarnation)
-- ARGV[2]  events channel
-- ARGV[3]  lowest seq the room may have: the highest the node's sockets saw, so a room rebuilt
--          after Redis lost it numbers on instead of starting again at 1
-- ARGV[4]  capacity to create the room with if absent; ARGV[5] created_at if absent
-- ARGV[6]  n = number of live participants; ARGV[7] j = parts of the joined template;
--          ARGV[8] l = parts of the left template
-- ARGV[9 .. 8+3n]  per live participant: id, participant JSON, joined_at (as stamped)
-- then j parts of the participant_joined event template (holes: seq, participant JSON),
-- then l parts of the participant_left template (holes: seq, participant id JSON text;
-- reason "disconnected")
--
-- For each live participant: in the room with the same joined_at -> its lease is (re)claimed;
-- in with another joined_at -> "superseded" (a newer session of the same person, elsewhere);
-- absent -> re-joined (participant_joined) under capacity (a live room's viewers under its
-- audience capacity, rooms.live), else "refused" (a banned one too). Entries leased to
-- this owner without a live session (a leave that failed during the outage) are removed
-- (participant_left, "disconnected").
--
-- Returns {"ok", created (0/1), {rejoined id...}, {superseded id...}, {refused id...},
-- {removed id...}}, or {"closed"} with nothing written.
local closed = redis.call('HGET', KEYS[1], 'closed')
local created = 0
if closed == '1' then
    return {'closed'}
elseif not closed then
    redis.call('HSET', KEYS[1], 'capacity', ARGV[4], 'closed', '0', 'created_at', ARGV[5])
    created = 1
end
if tonumber(redis.call('GET', KEYS[4]) or 0) < tonumber(ARGV[3]) then
    redis.call('SET', KEYS[4], ARGV[3])
end
local n, j, l = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local joined_template = argv_from(9 + 3 * n, 8 + 3 * n + j)
local left_template = argv_from(9 + 3 * n + j, 8 + 3 * n + j + l)
local capacity = tonumber(redis.call('HGET', KEYS[1], 'capacity'))
local live_room = redis.call('HGET', KEYS[1], 'kind') == 'live'
local audience_capacity = tonumber(redis.call('HGET', KEYS[1], 'audience_capacity') or 0)
local live, rejoined, superseded, refused, removed = {}, {}, {}, {}, {}
for i = 9, 8 + 3 * n, 3 do
    local id, json, joined_at = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
    live[id] = true
    local raw = redis.call('HGET', KEYS[2], id)
    if raw then
        if cjson.decode(raw)['joined_at'] == joined_at then
            redis.call('HSET', KEYS[3], id, ARGV[1])
        else
            superseded[#superseded + 1] = id
        end
    else
        local viewer = live_room and cjson.decode(json)['role'] == 'viewer'
        local audience = redis.call('SCARD', KEYS[6])
        if redis.call('SISMEMBER', KEYS[7], id) == 1
            or (viewer and audience >= audience_capacity)
            or (not viewer and redis.call('HLEN', KEYS[2]) - audience >= capacity) then
            refused[#refused + 1] = id
        else
            if viewer then
                redis.call('SADD', KEYS[6], id)
            end
            redis.call('HSET', KEYS[2], id, json)
            redis.call('HSET', KEYS[3], id, ARGV[1])
            emit(KEYS[4], ARGV[2], joined_template, {json})
            rejoined[#rejoined + 1] = id
        end
    end
end
local presence = redis.call('HGETALL', KEYS[3])
for i = 1, #presence, 2 do
    local id, owner = presence[i], presence[i + 1]
    if owner == ARGV[1] and not live[id] then
        redis.call('HDEL', KEYS[3], id)
        redis.call('SREM', KEYS[6], id)
        if redis.call('HDEL', KEYS[2], id) == 1 then
            if redis.call('HGET', KEYS[5], 'holder') == id then
                redis.call('HDEL', KEYS[5], 'holder')
            end
            emit(KEYS[4], ARGV[2], left_template, {cjson.encode(id)})
            removed[#removed + 1] = id
        end
    end
end
return {'ok', created, rejoined, superseded, refused, removed}
