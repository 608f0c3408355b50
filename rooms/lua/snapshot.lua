-- snapshot.lua: read a room's whole state at once (consistent as of its seq).
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room seq           STRING integer
-- KEYS[4 .. 11]  the shopping keys _shop_lib.shop_state reads (RoomKeys.shop_state order)
-- KEYS[12] room hands         SET participant ids with a raised hand
-- KEYS[13] room audience      SET participant ids in a live room's audience
-- ARGV[1]  '' for everyone; or a live room's viewer: list the stage and it (_shop_lib.listed_for)
--
-- Returns {"ok", seq, capacity, created_at, closed ("0"/"1"), {participant JSON...},
-- shop_state, kind ("group"/"live"), audience capacity (or ""), slow mode seconds,
-- {raised hand id...}, unlisted (audience members left out)}, or {"unknown"} for a room
-- that does not exist.
local meta = redis.call('HMGET', KEYS[1], 'capacity', 'created_at', 'closed', 'kind',
                        'audience_capacity', 'slow_mode')
if not meta[1] then
    return {'unknown'}
end
local listed, unlisted = listed_for(KEYS[2], KEYS[13], ARGV[1])
return {'ok', tonumber(redis.call('GET', KEYS[3]) or 0), meta[1], meta[2], meta[3], listed,
        shop_state({KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11]}),
        meta[4] or 'group', meta[5] or '', meta[6] or '0', redis.call('SMEMBERS', KEYS[12]),
        unlisted}
