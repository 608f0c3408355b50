-- renew_lease.lua: renew a presence owner's lease (a node's heartbeat); say if it had lapsed.
--
-- KEYS[1]  node lease         STRING node id, TTL = the lease
-- KEYS[2]  nodes index        SET of presence owners
-- ARGV[1]  presence owner (the node's incarnation)
-- ARGV[2]  lease in milliseconds (int >= 1)
-- ARGV[3]  node id (the lease key's value, for operators)
--
-- Returns 1 if the lease was still held, 0 if it had lapsed (never taken, expired, or Redis
-- lost it): then the owner's participants may have been reaped or lost, and it must reassert
-- them. Either way the lease is held for ARGV[2] ms from now.
local held = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
return held
