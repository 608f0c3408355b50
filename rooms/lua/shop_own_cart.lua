-- shop_own_cart.lua: set the quantity of an item in a live room's viewer's own cart (0 takes
-- it out), mirroring rooms.own_cart; no event (the cart is the viewer's alone).
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at, kind, ...
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room products      HASH product id -> product JSON
-- KEYS[4]  room variants      SET pair_key(product id, variant id)
-- KEYS[5]  room own carts     HASH participant id -> JSON array of cart items
-- KEYS[6]  room cart adds     HASH product id -> accepted cart_add requests (the recap's)
-- ARGV[1]  participant id
-- ARGV[2]  product id; ARGV[3] variant id or ""; ARGV[4] quantity (0..99)
-- ARGV[5]  now (unix seconds: a new line's added_at)
--
-- A line already there keeps its place and when it was added; a new one goes last.
-- Returns {"ok", cart JSON}, or {"unknown"}, {"closed"}, {"not_in_room"}, {"forbidden"}
-- (not a live room's viewer), {"unknown_product"} with nothing written.
local who, refused = enter(KEYS[1], KEYS[2], ARGV[1], 'participant')
if refused then
    return refused
end
if redis.call('HGET', KEYS[1], 'kind') ~= 'live' or who.role ~= 'viewer' then
    return {'forbidden'}
end
local quantity = tonumber(ARGV[4])
if quantity > 0 and not offers(KEYS[3], KEYS[4], ARGV[2], ARGV[3]) then
    return {'unknown_product'}
end
local raw = redis.call('HGET', KEYS[5], ARGV[1])
local cart = raw and cjson.decode(raw) or {}
local out, found = {}, false
for _, line in ipairs(cart) do
    local variant = line.variant_id == cjson.null and '' or line.variant_id
    if line.product_id == ARGV[2] and variant == ARGV[3] then
        found = true
        if quantity > 0 then
            line.quantity = quantity
            out[#out + 1] = line
        end
    else
        out[#out + 1] = line
    end
end
if not found and quantity > 0 then
    out[#out + 1] = {
        product_id = ARGV[2],
        variant_id = ARGV[3] == '' and cjson.null or ARGV[3],
        quantity = quantity,
        added_by = ARGV[1],
        added_by_name = who.name,
        added_at = tonumber(ARGV[5]),
    }
end
if quantity > 0 then
    redis.call('HINCRBY', KEYS[6], ARGV[2], 1)
end
if #out == 0 then
    redis.call('HDEL', KEYS[5], ARGV[1])
    return {'ok', '[]'}
end
local encoded = cjson.encode(out)
redis.call('HSET', KEYS[5], ARGV[1], encoded)
return {'ok', encoded}
