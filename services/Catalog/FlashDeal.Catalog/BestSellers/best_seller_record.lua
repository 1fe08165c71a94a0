-- Counts one paid order in the best-seller rankings, once per order id.
-- KEYS[1] catalog:{bestsellers}:seen:<order_id>   KEYS[2] all-time set
-- KEYS[3] its 5-minute bucket   KEYS[4] its hour bucket
-- ARGV[1] product_id   ARGV[2] units   ARGV[3] seen-marker ttl (s)   ARGV[4] 5-minute bucket ttl (s)   ARGV[5] hour bucket ttl (s)
-- Returns 1 when counted, 0 when this order had been counted before.
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) then
  return 0
end
redis.call('ZINCRBY', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZINCRBY', KEYS[3], ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[3], ARGV[4])
redis.call('ZINCRBY', KEYS[4], ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[4], ARGV[5])
return 1
