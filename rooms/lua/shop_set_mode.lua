-- shop_set_mode.lua: set who may move the carousel; publish carousel_changed.
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room seq           STRING integer
-- KEYS[4]  room product ids   LIST
-- KEYS[5]  room carousel      HASH index, version, mode, holder
-- ARGV[1]  events channel
-- ARGV[2]  participant id, "" for the HTTP API
-- ARGV[3]  "host_led" | "everyone"
-- ARGV[4 ..] event template (holes: seq, data.carousel)
--
-- Returns {"ok", event JSON}, or {"unknown"}, {"closed"}, {"not_in_room"}, {"forbidden"}
-- (hosts and admins only) with nothing written.
local _, refused = enter(KEYS[1], KEYS[2], ARGV[2], 'host')
if refused then
    return refused
end
local c = carousel_get(KEYS[5])
c.mode = ARGV[3]
redis.call('HSET', KEYS[5], 'index', c.index, 'version', c.version, 'mode', c.mode)
return emit(KEYS[3], ARGV[1], argv_from(4), {carousel_json(KEYS[4], c)})
