-- A log-in attempt whose password was never checked (the replica had no hashing slot free): it no longer counts against
-- its account (KEYS[1]) or its client address (KEYS[2]). Counters are decremented, never created.
for i = 1, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 and redis.call('DECR', KEYS[i]) <= 0 then
    redis.call('DEL', KEYS[i])
  end
end
return 1
