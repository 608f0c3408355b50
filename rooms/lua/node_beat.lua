-- node_beat.lua: a node's heartbeat in the node registry: its URL, load and state, stamped with
-- Redis's clock (so placement never compares two machines' clocks).
--
-- KEYS[1]  node registry      HASH presence owner -> node entry JSON
-- KEYS[2]  pinned counts      HASH presence owner -> rooms pinned to it (int)
-- ARGV[1]  presence owner (the node's incarnation)
-- ARGV[2]  node entry JSON without ``beat_ms`` ({node_id, url, rooms, peers, cpu, draining})
-- ARGV[3]  forget entries silent for longer than this many milliseconds (dead nodes)
--
-- Returns {now_ms, held}: held 1 if this owner had an entry (0: first beat, or Redis lost it,
-- or another node forgot it as dead: rooms pinned to it may have moved).
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local held = redis.call('HEXISTS', KEYS[1], ARGV[1])
local entry = cjson.decode(ARGV[2])
entry.beat_ms = now_ms
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(entry))
-- Forget nodes silent for long: their pins are taken over by the next join of each room.
local forget_after = tonumber(ARGV[3])
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
    local other = cjson.decode(all[i + 1])
    if now_ms - (tonumber(other.beat_ms) or 0) > forget_after then
        redis.call('HDEL', KEYS[1], all[i])
        redis.call('HDEL', KEYS[2], all[i])
    end
end
return {now_ms, held}
