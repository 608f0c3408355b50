-- shop_open_round.lua: open a vote round (replacing the latest one); publish vote_round_opened.
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room seq           STRING integer
-- KEYS[4]  room products      HASH product id -> product JSON
-- KEYS[5]  room round         STRING round JSON
-- ARGV[1]  events channel
-- ARGV[2]  participant id, "" for the HTTP API
-- ARGV[3]  round JSON up to its id (the event's seq); ARGV[4] round JSON after it
-- ARGV[5]  n = number of product ids the round covers (0: every product)
-- ARGV[6 .. 5+n] those product ids, then the event template (holes: seq, data.round)
--
-- Returns {"ok", event JSON}, or {"unknown"}, {"closed"}, {"not_in_room"}, {"forbidden"}
-- (hosts and admins only), {"unknown_product"} with nothing written.
local _, refused = enter(KEYS[1], KEYS[2], ARGV[2], 'host')
if refused then
    return refused
end
local n = tonumber(ARGV[5])
for i = 6, 5 + n do
    if redis.call('HEXISTS', KEYS[4], ARGV[i]) == 0 then
        return {'unknown_product'}
    end
end
return emit(KEYS[3], ARGV[1], argv_from(6 + n), function(seq)
    local round = ARGV[3] .. seq .. ARGV[4]
    redis.call('SET', KEYS[5], round)
    return {round}
end)
