-- shop_close_round.lua: close the open vote round; publish vote_round_closed.
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room seq           STRING integer
-- KEYS[4]  room round         STRING round JSON
-- ARGV[1]  events channel
-- ARGV[2]  participant id, "" for the HTTP API
-- ARGV[3]  id of the round to close, "" for whichever is open
-- ARGV[4]  reason ("host" | "deadline"); ARGV[5] now (unix seconds)
-- ARGV[6 ..] event template (holes: seq, data.round, data.reason)
--
-- Closing before the deadline sets closes_at to now; past it (or with reason "deadline",
-- whatever the caller's clock says) the round keeps its closes_at and the reason is
-- "deadline" (rooms.shopping.VoteRound.close / at).
-- Returns {"ok", event JSON}; {"none"} when no round (or not that one) is open; or
-- {"unknown"}, {"closed"}, {"not_in_room"}, {"forbidden"}; nothing is written unless "ok".
local _, refused = enter(KEYS[1], KEYS[2], ARGV[2], 'host')
if refused then
    return refused
end
local raw = redis.call('GET', KEYS[4])
if not raw then
    return {'none'}
end
local r = cjson.decode(raw)
if r.state ~= 'open' or (ARGV[3] ~= '' and r.id ~= tonumber(ARGV[3])) then
    return {'none'}
end
local now, reason = tonumber(ARGV[5]), ARGV[4]
if reason == 'deadline' or now >= r.closes_at then
    reason = 'deadline'
else
    r.closes_at = math.max(r.opens_at, now)
end
r.state = 'closed'
local round = cjson.encode(r)
redis.call('SET', KEYS[4], round)
return emit(KEYS[3], ARGV[1], argv_from(6), {round, cjson.encode(reason)})
