-- shop_load_catalog.lua: replace a room's catalog; publish catalog_loaded.
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at
-- KEYS[2]  room seq           STRING integer
-- KEYS[3]  room catalog       HASH revision, currency, image_base, checkout
-- KEYS[4]  room product ids   LIST
-- KEYS[5]  room products      HASH product id -> product JSON
-- KEYS[6]  room variants      SET pair_key(product id, variant id)
-- KEYS[7]  room carousel      HASH index, version, mode, holder
-- KEYS[8]  room votes         HASH pair_key(participant, product) -> vote JSON
-- KEYS[9]  room tallies       HASH product id -> tally JSON
-- KEYS[10] room cart          HASH pair_key(product, variant) -> cart item JSON
-- KEYS[11] room shown         HASH product id -> times shown
-- ARGV[1]  events channel
-- ARGV[2]  currency or ""; ARGV[3] image base or ""
-- ARGV[4]  the catalog's checkout fields as a JSON object, or "" (rooms.redis_store)
-- ARGV[5]  n = number of products; ARGV[6] m = number of variant keys
-- ARGV[7 .. 6+n] product ids in order, ARGV[7+n .. 6+2n] their JSON, then m variant keys,
--          then the event template (holes: seq, data.revision, data.carousel: 4 parts),
--          then now (unix seconds, for the group offer's expiry)
--
-- The carousel keeps its product if still offered (else the first) with version + 1; votes
-- and cart items of products or variants no longer offered are dropped (tallies follow); the
-- group offer's backers are recounted (offer_after_load in _shop_lib.lua).
-- Returns {"ok", event JSON}, or {"unknown"} / {"closed"} with nothing written.
local _, refused = enter(KEYS[1])
if refused then
    return refused
end
local n, m = tonumber(ARGV[5]), tonumber(ARGV[6])
local c = carousel_get(KEYS[7])
local before = current_product(KEYS[4], c)
redis.call('DEL', KEYS[4], KEYS[5], KEYS[6])
local ids = argv_from(7, 6 + n)
write_catalog(KEYS[3], KEYS[4], KEYS[5], KEYS[6], 0, ARGV[2], ARGV[3], ARGV[4], ids,
              argv_from(7 + n, 6 + 2 * n), argv_from(7 + 2 * n, 6 + 2 * n + m))
c.index = 0
if before then
    c.index = redis.call('LPOS', KEYS[4], before) or 0
end
c.version = c.version + 1
redis.call('HSET', KEYS[7], 'index', c.index, 'version', c.version, 'mode', c.mode)
local after = current_product(KEYS[4], c)
if after and after ~= before then
    redis.call('HINCRBY', KEYS[11], after, 1)
end
local votes = redis.call('HGETALL', KEYS[8])
for i = 1, #votes, 2 do
    local vote = cjson.decode(votes[i + 1])
    local variant = vote.variant_id ~= cjson.null and vote.variant_id or ''
    if not offers(KEYS[5], KEYS[6], vote.product_id, variant) then
        redis.call('HDEL', KEYS[8], votes[i])
        tally_apply(KEYS[9], vote, -1)
    end
end
local cart = redis.call('HGETALL', KEYS[10])
for i = 1, #cart, 2 do
    local item = cjson.decode(cart[i + 1])
    local variant = item.variant_id ~= cjson.null and item.variant_id or ''
    if not offers(KEYS[5], KEYS[6], item.product_id, variant) then
        redis.call('HDEL', KEYS[10], cart[i])
    end
end
offer_after_load(KEYS[3], KEYS[5], KEYS[10], tonumber(ARGV[11 + 2 * n + m]))
return emit(KEYS[2], ARGV[1], argv_from(7 + 2 * n + m, 10 + 2 * n + m), function(seq)
    redis.call('HSET', KEYS[3], 'revision', seq)
    return {seq, carousel_json(KEYS[4], c)}
end)
