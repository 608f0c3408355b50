-- shop_retract_vote.lua: remove a participant's vote on a product; publish vote_retracted.
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room seq           STRING integer
-- KEYS[4]  room products      HASH product id -> product JSON
-- KEYS[5]  room round         STRING round JSON
-- KEYS[6]  room votes         HASH pair_key(participant, product) -> vote JSON
-- KEYS[7]  room tallies       HASH product id -> tally JSON
-- ARGV[1]  events channel
-- ARGV[2]  participant id; ARGV[3] product id
-- ARGV[4]  now (unix seconds, for the round's deadline)
-- ARGV[5 ..] event template (holes: seq, data.vote, data.tallies)
--
-- Returns {"ok", event JSON}; {"none"} if there was no such vote; or {"unknown"},
-- {"closed"}, {"not_in_room"}, {"unknown_product"}, {"vote_closed"}; nothing is written
-- unless "ok".
local _, refused = enter(KEYS[1], KEYS[2], ARGV[2], 'participant')
if refused then
    return refused
end
if redis.call('HEXISTS', KEYS[4], ARGV[3]) == 0 then
    return {'unknown_product'}
elseif not vote_allowed(KEYS[5], tonumber(ARGV[4]), ARGV[3]) then
    return {'vote_closed'}
end
local key = pair_key(ARGV[2], ARGV[3])
local vote = redis.call('HGET', KEYS[6], key)
if not vote then
    return {'none'}
end
redis.call('HDEL', KEYS[6], key)
tally_apply(KEYS[7], cjson.decode(vote), -1)
return emit(KEYS[3], ARGV[1], argv_from(5), {vote, tallies_json(KEYS[7])})
