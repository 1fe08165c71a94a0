-- Counts one log-in attempt against its account (KEYS[1]) and its client address (KEYS[2]), unless either counter is
-- already at its limit (ARGV[1], ARGV[2]). Each counter is a fixed window of ARGV[3] ms that starts with its first
-- attempt. Counting before the password is checked means a burst of parallel guesses cannot slip past the limit; a
-- successful log-in hands its attempt back (end_login_attempt.lua).
-- Returns {1, 0, 0} when allowed, or {0, retry_after_ms, n} when counter n (1 account, 2 address) is full.
local window = tonumber(ARGV[3])
for i = 1, 2 do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  if count >= tonumber(ARGV[i]) then
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl < 0 then
      redis.call('PEXPIRE', KEYS[i], window)
      ttl = window
    end
    return {0, ttl, i}
  end
end
for i = 1, 2 do
  redis.call('INCR', KEYS[i])
  if redis.call('PTTL', KEYS[i]) < 0 then
    redis.call('PEXPIRE', KEYS[i], window)
  end
end
return {1, 0, 0}
