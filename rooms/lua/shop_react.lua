-- shop_react.lua: count an emoji reaction; publish reaction.
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room seq           STRING integer
-- KEYS[4]  room products      HASH product id -> product JSON
-- KEYS[5]  room product ids   LIST
-- KEYS[6]  room carousel      HASH index, version, mode, holder
-- KEYS[7]  room reactions     HASH JSON [product id | null, emoji] -> count
-- ARGV[1]  events channel
-- ARGV[2]  participant id; ARGV[3] emoji
-- ARGV[4]  product id, "" for the carousel's current product
-- ARGV[5 ..] event template (holes: seq, data.product_id)
--
-- Returns {"ok", event JSON}, or {"unknown"}, {"closed"}, {"not_in_room"},
-- {"unknown_product"} with nothing written.
local _, refused = enter(KEYS[1], KEYS[2], ARGV[2], 'participant')
if refused then
    return refused
end
local product = ARGV[4]
if product == '' then
    product = current_product(KEYS[5], carousel_get(KEYS[6])) or cjson.null
elseif redis.call('HEXISTS', KEYS[4], product) == 0 then
    return {'unknown_product'}
end
redis.call('HINCRBY', KEYS[7], cjson.encode({product, ARGV[3]}), 1)
return emit(KEYS[3], ARGV[1], argv_from(5), {cjson.encode(product)})
