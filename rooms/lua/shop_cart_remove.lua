-- shop_cart_remove.lua: take an item out of the shared cart; publish cart_item_removed.
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room seq           STRING integer
-- KEYS[4]  room cart          HASH pair_key(product, variant) -> cart item JSON
-- KEYS[5]  room catalog       HASH ..., offer, offer_backers, offer_reached
-- ARGV[1]  events channel
-- ARGV[2]  participant id, "" for the HTTP API
-- ARGV[3]  product id; ARGV[4] variant id or ""
-- ARGV[5 .. 7] event template (holes: seq, data.item)
-- ARGV[8 .. 12] offer_progress template, ARGV[13 .. 16] offer_reached template
-- ARGV[17] now (unix seconds, for the offer's expiry)
--
-- Then the room's group offer follows (offer_follow in _shop_lib.lua: its events come
-- right after).
-- Returns {"ok", event JSON}; {"none"} if the item is not in the cart; or {"unknown"},
-- {"closed"}, {"not_in_room"}, {"forbidden"} (viewers); nothing is written unless "ok".
local _, refused = enter(KEYS[1], KEYS[2], ARGV[2], 'buyer')
if refused then
    return refused
end
local key = pair_key(ARGV[3], ARGV[4])
local item = redis.call('HGET', KEYS[4], key)
if not item then
    return {'none'}
end
redis.call('HDEL', KEYS[4], key)
local reply = emit(KEYS[3], ARGV[1], argv_from(5, 7), {item})
offer_follow(KEYS[5], KEYS[4], KEYS[3], ARGV[1], ARGV[3], tonumber(ARGV[17]),
             argv_from(8, 12), argv_from(13, 16), false)
return reply
