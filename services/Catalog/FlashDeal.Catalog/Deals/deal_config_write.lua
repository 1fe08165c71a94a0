-- Writes one deal's config for the order path, and its remaining stock when that is safe.
-- KEYS[1] {deal:<id>}:config (hash)   KEYS[2] {deal:<id>}:stock (string: remaining units, decremented by orders)
-- ARGV[1] version of this config   ARGV[2] expiry of both keys (unix ms)
-- ARGV[3] stock mode:
--   if-missing          create :stock = stock only when it does not exist
--   reset-if-untouched  also overwrite :stock when it still equals the previous config's stock (no unit is held)
--   never               leave :stock alone (a deal that may have sold: only orders know what remains)
-- ARGV[4..] field, value pairs of the config hash
-- Returns {config_written, stock_written}; an older version than the stored one writes nothing.
local version = tonumber(ARGV[1])
local stored = tonumber(redis.call('HGET', KEYS[1], 'version'))
if stored and stored > version then
  return {0, 0}
end
local previous_stock = redis.call('HGET', KEYS[1], 'stock')
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIREAT', KEYS[1], ARGV[2])

local stock = redis.call('HGET', KEYS[1], 'stock')
local remaining = redis.call('GET', KEYS[2])
local mode = ARGV[3]
local stock_written = 0
if remaining == false then
  if mode ~= 'never' then
    redis.call('SET', KEYS[2], stock)
    stock_written = 1
  end
elseif mode == 'reset-if-untouched' and previous_stock and remaining == previous_stock and remaining ~= stock then
  redis.call('SET', KEYS[2], stock)
  stock_written = 1
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('PEXPIREAT', KEYS[2], ARGV[2])
end
return {1, stock_written}
