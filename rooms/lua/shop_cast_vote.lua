-- shop_cast_vote.lua: record a participant's vote on a product (replacing theirs); keep the
-- tallies in step; publish vote_cast.
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room seq           STRING integer
-- KEYS[4]  room products      HASH product id -> product JSON
-- KEYS[5]  room variants      SET pair_key(product id, variant id)
-- KEYS[6]  room round         STRING round JSON
-- KEYS[7]  room votes         HASH pair_key(participant, product) -> vote JSON
-- KEYS[8]  room tallies       HASH product id -> tally JSON
-- KEYS[9]  room stats         HASH votes_cast, chat_messages
-- ARGV[1]  events channel
-- ARGV[2]  participant id; ARGV[3] product id; ARGV[4] variant id or ""
-- ARGV[5]  vote JSON (Vote.to_dict())
-- ARGV[6]  now (unix seconds, for the round's deadline)
-- ARGV[7 ..] event template (holes: seq, data.previous, data.tallies)
--
-- Returns {"ok", event JSON}, or {"unknown"}, {"closed"}, {"not_in_room"},
-- {"unknown_product"} (product or variant not in the catalog), {"vote_closed"}
-- (rooms.shopping.vote_allowed) with nothing written.
local _, refused = enter(KEYS[1], KEYS[2], ARGV[2], 'participant')
if refused then
    return refused
end
if not offers(KEYS[4], KEYS[5], ARGV[3], ARGV[4]) then
    return {'unknown_product'}
elseif not vote_allowed(KEYS[6], tonumber(ARGV[6]), ARGV[3]) then
    return {'vote_closed'}
end
local key = pair_key(ARGV[2], ARGV[3])
local previous = redis.call('HGET', KEYS[7], key)
if previous then
    tally_apply(KEYS[8], cjson.decode(previous), -1)
end
redis.call('HSET', KEYS[7], key, ARGV[5])
tally_apply(KEYS[8], cjson.decode(ARGV[5]), 1)
redis.call('HINCRBY', KEYS[9], 'votes_cast', 1)
return emit(KEYS[3], ARGV[1], argv_from(7), {previous or 'null', tallies_json(KEYS[8])})
