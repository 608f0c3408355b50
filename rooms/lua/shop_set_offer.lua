-- shop_set_offer.lua: set (replace) the room's group offer; publish offer_progress, then
-- offer_reached if it is reached already (rooms.offers; offer_follow in _shop_lib.lua).
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at, ...
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room seq           STRING integer
-- KEYS[4]  room catalog       HASH ..., offer, offer_backers, offer_reached
-- KEYS[5]  room products      HASH product id -> product JSON
-- KEYS[6]  room cart          HASH pair_key(product, variant) -> cart item JSON
-- ARGV[1]  events channel
-- ARGV[2]  who acts: a participant id, or '' for the HTTP API
-- ARGV[3]  the offer JSON (GroupOffer.to_dict); ARGV[4] its product id; ARGV[5] now
-- ARGV[6 .. 10]  offer_progress template (holes: seq, offer, backers, reached)
-- ARGV[11 .. 14] offer_reached template (holes: seq, offer, backers)
--
-- Returns {"ok", offer_progress JSON}, or {"unknown"}, {"closed"}, {"not_in_room"},
-- {"forbidden"} (not a host), {"unknown_product"} with nothing written.
local _, refused = enter(KEYS[1], KEYS[2], ARGV[2], 'host')
if refused then
    return refused
end
if redis.call('HEXISTS', KEYS[5], ARGV[4]) == 0 then
    return {'unknown_product'}
end
redis.call('HSET', KEYS[4], 'offer', ARGV[3])
return offer_follow(KEYS[4], KEYS[6], KEYS[3], ARGV[1], ARGV[4], tonumber(ARGV[5]),
                    argv_from(6, 10), argv_from(11, 14), true)
