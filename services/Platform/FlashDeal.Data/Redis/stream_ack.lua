-- Acknowledges stream entries and deletes them in one step, so the stream only ever holds entries that are not yet
-- in PostgreSQL (its length is the consumer lag) and no crash can leave an acknowledged entry behind.
-- KEYS[1] stream   ARGV[1] consumer group   ARGV[2..] entry ids
local acknowledged = redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
redis.call('XDEL', KEYS[1], unpack(ARGV, 2))
return acknowledged
