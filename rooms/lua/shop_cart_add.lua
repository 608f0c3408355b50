-- shop_cart_add.lua: put an item in the shared cart, or set the quantity of the one there;
-- publish cart_item_added.
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room seq           STRING integer
-- KEYS[4]  room products      HASH product id -> product JSON
-- KEYS[5]  room variants      SET pair_key(product id, variant id)
-- KEYS[6]  room cart          HASH pair_key(product, variant) -> cart item JSON
-- KEYS[7]  room cart adds     HASH product id -> accepted cart_add requests (the recap's)
-- KEYS[8]  room catalog       HASH ..., offer, offer_backers, offer_reached
-- ARGV[1]  events channel
-- ARGV[2]  participant id, "" for the HTTP API
-- ARGV[3]  product id; ARGV[4] variant id or ""; ARGV[5] quantity (1..99)
-- ARGV[6]  n = parts of the new item's template (hole: added_by_name)
-- ARGV[7 .. 6+n] item template, ARGV[7+n .. 9+n] the event template (holes: seq, data.item)
-- ARGV[10+n .. 14+n] offer_progress template, ARGV[15+n .. 18+n] offer_reached template
-- ARGV[19+n] now (unix seconds, for the offer's expiry)
--
-- An item already there keeps who added it and when; only its quantity changes. Then the
-- room's group offer follows (offer_follow in _shop_lib.lua: its events come right after).
-- Returns {"ok", event JSON}, or {"unknown"}, {"closed"}, {"not_in_room"}, {"forbidden"}
-- (viewers), {"unknown_product"} with nothing written.
local who, refused = enter(KEYS[1], KEYS[2], ARGV[2], 'buyer')
if refused then
    return refused
end
if not offers(KEYS[4], KEYS[5], ARGV[3], ARGV[4]) then
    return {'unknown_product'}
end
local key = pair_key(ARGV[3], ARGV[4])
local n = tonumber(ARGV[6])
local item = redis.call('HGET', KEYS[6], key)
if item then
    local existing = cjson.decode(item)
    existing.quantity = tonumber(ARGV[5])
    item = cjson.encode(existing)
else
    item = fill(argv_from(7, 6 + n), {cjson.encode(who.name)})
end
redis.call('HSET', KEYS[6], key, item)
redis.call('HINCRBY', KEYS[7], ARGV[3], 1)
local reply = emit(KEYS[3], ARGV[1], argv_from(7 + n, 9 + n), {item})
offer_follow(KEYS[8], KEYS[6], KEYS[3], ARGV[1], ARGV[3], tonumber(ARGV[19 + n]),
             argv_from(10 + n, 14 + n), argv_from(15 + n, 18 + n), false)
return reply
