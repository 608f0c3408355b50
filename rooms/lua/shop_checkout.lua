-- shop_checkout.lua: count a checkout link handed out; publish checkout_started.
--
-- KEYS[1]  room meta          HASH capacity, closed, created_at, ...
-- KEYS[2]  room participants  HASH participant id -> participant JSON
-- KEYS[3]  room seq           STRING integer
-- KEYS[4]  room stats         HASH votes_cast, chat_messages, checkouts_started, ...
-- ARGV[1]  events channel
-- ARGV[2]  who acts: a participant id, or '' for the HTTP API
-- ARGV[3]  whose cart lines the link holds: a participant id, or '' for the whole cart
-- ARGV[4 ..] checkout_started event template (holes: seq)
--
-- A participant may take its own lines' link; hosts and the HTTP API anyone's or the whole
-- cart's (rooms.memory_shop.start_checkout). Returns {"ok", event JSON}, or {"unknown"},
-- {"closed"}, {"not_in_room"}, {"forbidden"} (viewers; another's lines) with nothing written.
local who, refused = enter(KEYS[1], KEYS[2], ARGV[2], 'buyer')
if refused then
    return refused
end
if not is_host(who.role) and ARGV[3] ~= ARGV[2] then
    return {'forbidden'}
end
redis.call('HINCRBY', KEYS[4], 'checkouts_started', 1)
return emit(KEYS[3], ARGV[1], argv_from(4), {})
