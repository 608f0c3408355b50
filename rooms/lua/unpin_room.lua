-- unpin_room.lua: a node lets a room go (no participant of it left there), unless it was
-- re-pinned to another node meanwhile.
--
-- KEYS[1]  room pins          HASH room id -> presence owner
-- KEYS[2]  pinned counts      HASH presence owner -> rooms pinned to it (int)
-- ARGV[1]  room id
-- ARGV[2]  presence owner letting it go
--
-- Returns 1 if the pin was removed, 0 if the room was not pinned to ARGV[2].
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
    return 0
end
redis.call('HDEL', KEYS[1], ARGV[1])
if tonumber(redis.call('HINCRBY', KEYS[2], ARGV[2], -1)) <= 0 then
    redis.call('HDEL', KEYS[2], ARGV[2])
end
return 1
