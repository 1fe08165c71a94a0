-- PlaceOrder, the hot path: every check and every write of one placement in one atomic step (docs/orders.md).
-- All keys carry the deal's hash tag {deal:<id>}, so the script runs on one Redis Cluster node.
--
-- KEYS[1] :config     HASH  deal terms, written by catalog
-- KEYS[2] :stock      STRING remaining units
-- KEYS[3] :buyers     HASH  user_id -> units held
-- KEYS[4] :idem       HASH  "<user_id>:<idempotency_key>" -> "<quantity>:<order_id>"
-- KEYS[5] :orders     STREAM order snapshots, drained into PostgreSQL
-- KEYS[6] :order:<id> HASH  the new order
-- KEYS[7] :deadlines  ZSET  pending order ids by pay deadline
-- ARGV[1] deal_id  ARGV[2] user_id  ARGV[3] idempotency_key  ARGV[4] quantity  ARGV[5] new order_id (UUIDv7)
-- ARGV[6] pay window ms  ARGV[7] per-deal key retention after end_ms  ARGV[8] order hash retention after pay deadline
-- ARGV[10] the placement's traceparent or '' (see the XADD below)
-- ARGV[9] '1' when the deal is already in the stream registry; otherwise an order that would be accepted returns
--         {'REGISTER'} untouched, so random deal ids never reach the registry
-- ARGV[11] coupon_id held for this placement or '' (docs/coupons.md); with it ARGV[12] percent_off or '',
--         ARGV[13] amount_off_cents or '', ARGV[14] the amount's currency or ''
--
-- Returns {'ACCEPTED', order_id, create_ms, pay_deadline_ms, product_id, product_name, title, price_cents, currency,
--          discount_cents}
--   or {'REPLAYED', order_id} | {'IDEMPOTENCY_KEY_MISMATCH', order_id} | {'DEAL_NOT_FOUND'} | {'DEAL_CANCELLED'}
--   | {'DEAL_NOT_STARTED', start_ms} | {'DEAL_ENDED', end_ms} | {'PER_USER_LIMIT_REACHED', limit, already}
--   | {'SOLD_OUT'} | {'INSUFFICIENT_STOCK', remaining} | {'REGISTER'} | {'COUPON_NOT_APPLICABLE', 'currency'}

local user_id = ARGV[2]
local quantity = tonumber(ARGV[4])

-- A retry of an earlier attempt wins over everything else, so retrying after a timeout is always safe.
local idem_field = user_id .. ':' .. ARGV[3]
local previous = redis.call('HGET', KEYS[4], idem_field)
if previous then
  local sep = string.find(previous, ':', 1, true)
  local order_id = string.sub(previous, sep + 1)
  if string.sub(previous, 1, sep - 1) == ARGV[4] then
    return {'REPLAYED', order_id}
  end
  return {'IDEMPOTENCY_KEY_MISMATCH', order_id}
end

local config = redis.call('HMGET', KEYS[1], 'start_ms', 'end_ms', 'cancelled', 'per_user_limit',
  'product_id', 'product_name', 'title', 'price_cents', 'currency')
local remaining = redis.call('GET', KEYS[2])
if not config[1] or not remaining then
  return {'DEAL_NOT_FOUND'}
end
if config[3] == '1' then
  return {'DEAL_CANCELLED'}
end

-- The server's clock, not the caller's: every replica judges the window by the same time.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local start_ms = tonumber(config[1]) or 0
local end_ms = tonumber(config[2]) or 0
if now < start_ms then
  return {'DEAL_NOT_STARTED', config[1]}
end
if now >= end_ms then
  return {'DEAL_ENDED', config[2]}
end

local coupon_id = ARGV[11] or ''
if coupon_id ~= '' and (ARGV[14] or '') ~= '' and ARGV[14] ~= config[9] then
  return {'COUPON_NOT_APPLICABLE', 'currency'}
end

local limit = tonumber(config[4]) or 0
local already = tonumber(redis.call('HGET', KEYS[3], user_id) or '0')
if limit > 0 and already + quantity > limit then
  return {'PER_USER_LIMIT_REACHED', string.format('%d', limit), string.format('%d', already)}
end

remaining = tonumber(remaining)
if remaining <= 0 then
  return {'SOLD_OUT'}
end
if remaining < quantity then
  return {'INSUFFICIENT_STOCK', string.format('%d', remaining)}
end
if ARGV[9] ~= '1' then
  return {'REGISTER'}
end

-- The coupon's discount on quantity x price: percent rounded down, or the amount capped at the price.
local discount = 0
if coupon_id ~= '' then
  local gross = quantity * (tonumber(config[8]) or 0)
  if (ARGV[12] or '') ~= '' then
    discount = math.floor(gross * tonumber(ARGV[12]) / 100)
  elseif (ARGV[13] or '') ~= '' then
    discount = math.min(tonumber(ARGV[13]), gross)
  end
end
local discount_cents = string.format('%d', discount)

local order_id = ARGV[5]
local create_ms = string.format('%d', now)
local deadline = now + tonumber(ARGV[6])
local deadline_ms = string.format('%d', deadline)
redis.call('DECRBY', KEYS[2], quantity)
redis.call('HINCRBY', KEYS[3], user_id, quantity)
redis.call('HSET', KEYS[4], idem_field, ARGV[4] .. ':' .. order_id)

local order = {
  'order_id', order_id, 'user_id', user_id, 'deal_id', ARGV[1],
  'product_id', config[5] or '', 'product_name', config[6] or '', 'deal_title', config[7] or '',
  'quantity', ARGV[4], 'unit_price_cents', config[8] or '0', 'currency', config[9] or '',
  'status', 'PENDING_PAYMENT', 'idempotency_key', ARGV[3], 'create_ms', create_ms, 'pay_deadline_ms', deadline_ms,
  'coupon_id', coupon_id, 'discount_cents', discount_cents,
}
redis.call('HSET', KEYS[6], unpack(order))
redis.call('PEXPIREAT', KEYS[6], deadline + tonumber(ARGV[8]))
-- The placement's W3C traceparent (ARGV[10], '' when the call is not traced) rides on the stream entry only, so the
-- consumer's persistence span can link to it.
if ARGV[10] ~= nil and ARGV[10] ~= '' then
  redis.call('XADD', KEYS[5], '*', 'traceparent', ARGV[10], unpack(order))
else
  redis.call('XADD', KEYS[5], '*', unpack(order))
end
redis.call('ZADD', KEYS[7], deadline, order_id)

local keep_until = end_ms + tonumber(ARGV[7])
redis.call('PEXPIREAT', KEYS[3], keep_until)
redis.call('PEXPIREAT', KEYS[4], keep_until)
redis.call('PEXPIREAT', KEYS[7], math.max(keep_until, deadline + tonumber(ARGV[8])))

return {'ACCEPTED', order_id, create_ms, deadline_ms, config[5] or '', config[6] or '', config[7] or '',
  config[8] or '0', config[9] or '', discount_cents}
