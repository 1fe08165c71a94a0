-- The top of a time window: the sum of its bucket sets, kept as a short-lived view so a burst of readers sums once.
-- KEYS[1] the view   KEYS[2..] the buckets of the window
-- ARGV[1] view ttl (ms; 0 = compute, answer, drop)   ARGV[2] how many entries
-- Returns {age of the view in ms, {member, score, member, score, ...}}
local ttl = tonumber(ARGV[1])
local age = 0
local remaining = redis.call('PTTL', KEYS[1])
if ttl > 0 and remaining > 0 then
  age = ttl - remaining
else
  redis.call('ZUNIONSTORE', KEYS[1], #KEYS - 1, unpack(KEYS, 2))
  if ttl > 0 then
    redis.call('PEXPIRE', KEYS[1], ttl)
  end
end
local top = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1, 'WITHSCORES')
if ttl <= 0 then
  redis.call('DEL', KEYS[1])
end
return {age, top}
