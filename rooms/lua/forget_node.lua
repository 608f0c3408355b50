-- forget_node.lua: drop a reaped presence owner from the index, unless it came back meanwhile.
--
-- KEYS[1]  node lease         STRING node id, TTL = the lease
-- KEYS[2]  nodes index        SET of presence owners
-- KEYS[3]  node rooms         SET of room ids the owner had participants in
-- ARGV[1]  presence owner
--
-- Returns 1 if the owner was forgotten, 0 (nothing written) if its lease is held again: it
-- renewed after the reaper looked, and will reassert its participants itself.
if redis.call('EXISTS', KEYS[1]) == 1 then
    return 0
end
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3])
return 1
