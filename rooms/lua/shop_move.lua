-- shop_move.lua: move the carousel with a version check; publish carousel_changed.
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room seq           STRING integer
-- KEYS[4]  room product ids   LIST
-- KEYS[5]  room carousel      HASH index, version, mode, holder
-- KEYS[6]  room shown         HASH product id -> times shown
-- ARGV[1]  events channel
-- ARGV[2]  participant id moving it, "" for the HTTP API
-- ARGV[3]  "next" | "prev" | "goto"; ARGV[4] product id for "goto", else ""
-- ARGV[5]  expected carousel version, "" to move whatever the version
-- ARGV[6 ..] event template (holes: seq, data.carousel)
--
-- Checks in order: room open, mover in the room, mover may move (rooms.shopping.can_move),
-- version, target. Next/prev wrap around; every accepted move bumps the version.
-- Returns {"ok", event JSON}; {"stale", carousel JSON, product id...} when ARGV[5] is not
-- the version; {"unknown"}, {"closed"}, {"not_in_room"}, {"forbidden"}, {"unknown_product"};
-- nothing is written unless "ok".
local who, refused = enter(KEYS[1], KEYS[2], ARGV[2])
if refused then
    return refused
end
local c = carousel_get(KEYS[5])
if not may_move(c.mode, who.role, who.id and c.holder == who.id) then
    return {'forbidden'}
end
if ARGV[5] ~= '' and tonumber(ARGV[5]) ~= c.version then
    local stale = {'stale', carousel_json(KEYS[4], c)}
    for _, id in ipairs(redis.call('LRANGE', KEYS[4], 0, -1)) do
        stale[#stale + 1] = id
    end
    return stale
end
local count = redis.call('LLEN', KEYS[4])
if count == 0 then
    return {'unknown_product'}
end
local before = current_product(KEYS[4], c)
if ARGV[3] == 'goto' then
    local index = redis.call('LPOS', KEYS[4], ARGV[4])
    if not index then
        return {'unknown_product'}
    end
    c.index = index
elseif ARGV[3] == 'next' then
    c.index = (c.index + 1) % count
else
    c.index = (c.index - 1) % count
end
c.version = c.version + 1
redis.call('HSET', KEYS[5], 'index', c.index, 'version', c.version, 'mode', c.mode)
local after = current_product(KEYS[4], c)
if after ~= before then
    redis.call('HINCRBY', KEYS[6], after, 1)
end
return emit(KEYS[3], ARGV[1], argv_from(6), {carousel_json(KEYS[4], c)})
