-- A successful log-in: the account's failures are forgiven (KEYS[1] deleted) and the attempt no longer counts against
-- the client address (KEYS[2] decremented, never created).
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 1 and redis.call('DECR', KEYS[2]) <= 0 then
  redis.call('DEL', KEYS[2])
end
return 1
