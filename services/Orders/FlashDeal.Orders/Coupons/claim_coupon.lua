-- ClaimCoupon, the hot path of a give-away: every check and write of one claim in one atomic step (docs/coupons.md).
-- All keys carry the campaign's hash tag {coupon:<id>}, so the script runs on one Redis Cluster node. The new coupon's
-- hash, <tag>:coupon:<n>, is named here from ARGV[3] (the tag) because n is only known inside: same slot.
--
-- KEYS[1] :config    HASH   campaign terms
-- KEYS[2] :remaining STRING coupons not yet claimed
-- KEYS[3] :claims    HASH   user_id -> "<idempotency_key>:<n>"
-- KEYS[4] :events    STREAM coupon snapshots, drained into PostgreSQL
-- ARGV[1] user_id  ARGV[2] idempotency_key  ARGV[3] hash tag  ARGV[4] campaign_id
-- ARGV[5] key retention after redeem_before (ms)
--
-- Returns {'CLAIMED', field, value, ...} (the coupon hash) | {'REPLAYED', field, value, ...}
--   | {'ALREADY_CLAIMED', coupon_id} | {'CAMPAIGN_NOT_FOUND'} | {'CAMPAIGN_NOT_STARTED', start_ms}
--   | {'CAMPAIGN_ENDED', end_ms} | {'COUPONS_EXHAUSTED', end_ms}

local user_id = ARGV[1]
local tag = ARGV[3]

-- A retry of an earlier claim wins over everything else (also after the window or the last coupon).
local previous = redis.call('HGET', KEYS[3], user_id)
if previous then
  local sep = string.find(previous, ':', 1, true)
  local number = string.sub(previous, sep + 1)
  if string.sub(previous, 1, sep - 1) == ARGV[2] then
    return {'REPLAYED', unpack(redis.call('HGETALL', tag .. ':coupon:' .. number))}
  end
  return {'ALREADY_CLAIMED', ARGV[4] .. '~' .. number}
end

local config = redis.call('HMGET', KEYS[1], 'name', 'percent_off', 'amount_off_cents', 'currency', 'total',
  'start_ms', 'end_ms', 'redeem_before_ms', 'deal_id')
local remaining = redis.call('GET', KEYS[2])
if not config[5] or not remaining then
  return {'CAMPAIGN_NOT_FOUND'}
end

-- The server's clock: every replica judges the window by the same time.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
if now < tonumber(config[6]) then
  return {'CAMPAIGN_NOT_STARTED', config[6]}
end
if now >= tonumber(config[7]) then
  return {'CAMPAIGN_ENDED', config[7]}
end
if tonumber(remaining) <= 0 then
  return {'COUPONS_EXHAUSTED', config[7]}
end

local after = redis.call('DECR', KEYS[2])
local number = string.format('%d', tonumber(config[5]) - after)
local coupon_key = tag .. ':coupon:' .. number
redis.call('HSET', KEYS[3], user_id, ARGV[2] .. ':' .. number)
local coupon = {
  'coupon_id', ARGV[4] .. '~' .. number, 'campaign_id', ARGV[4], 'user_id', user_id, 'status', 'CLAIMED',
  'claim_ms', string.format('%d', now), 'campaign_name', config[1], 'percent_off', config[2] or '',
  'amount_off_cents', config[3] or '', 'currency', config[4] or '', 'redeem_before_ms', config[8],
  'deal_id', config[9] or '', 'idempotency_key', ARGV[2], 'version', '1',
}
redis.call('HSET', coupon_key, unpack(coupon))
redis.call('XADD', KEYS[4], '*', unpack(coupon))

local keep_until = tonumber(config[8]) + tonumber(ARGV[5])
redis.call('PEXPIREAT', coupon_key, keep_until)
redis.call('PEXPIREAT', KEYS[3], keep_until)
return {'CLAIMED', unpack(coupon)}
