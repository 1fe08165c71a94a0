-- The order state machine (docs/orders.md): PENDING_PAYMENT -> PAID | CANCELLED | EXPIRED, each change atomic with
-- its effects. Leaving PENDING_PAYMENT for CANCELLED or EXPIRED returns the units exactly once: only the one call that
-- finds the order pending can do it, however cancel, expiry and payment race.
--
-- KEYS[1] :order:<id> HASH  KEYS[2] :stock STRING  KEYS[3] :buyers HASH  KEYS[4] :orders STREAM  KEYS[5] :deadlines ZSET
-- ARGV[1] action: cancel | expire | begin_pay | complete_pay | abort_pay
-- ARGV[2] user_id of the caller ('' for the expiry sweeper)   ARGV[3] SHA-256 of the payment token ('' if none)
-- ARGV[4] payment reference (complete_pay)   ARGV[5] payment lock ms   ARGV[6] retention ms of a final order hash
-- ARGV[7] pub/sub channel announcing returned stock
--
-- Returns {outcome, <the order hash as field, value, ...>}; outcome is one of
--   CHANGED, UNCHANGED, PAY (begin_pay: go and charge), NOT_DUE, PAYING (expiry deferred by a payment),
--   LOCK_LOST (complete_pay: the order stopped waiting for this payment), ORDER_ALREADY_PAID, ORDER_CANCELLED,
--   ORDER_EXPIRED, PAYMENT_IN_PROGRESS; or {'NOT_FOUND'}.

local raw = redis.call('HGETALL', KEYS[1])
if #raw == 0 then
  return {'NOT_FOUND'}
end
local order = {}
for i = 1, #raw, 2 do
  order[raw[i]] = raw[i + 1]
end
if ARGV[2] ~= '' and order.user_id ~= ARGV[2] then
  return {'NOT_FOUND'}
end

local action = ARGV[1]
local token_hash = ARGV[3]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local now_ms = string.format('%d', now)
local status = order.status
local deadline = tonumber(order.pay_deadline_ms)
local paying_until = tonumber(order.paying_until_ms or '0')
local paying = paying_until > now

local function reply(outcome)
  return {outcome, unpack(redis.call('HGETALL', KEYS[1]))}
end

-- The stream entry is the order as it is now, without the payment lock fields.
local function append_snapshot()
  local entry = {}
  local fields = redis.call('HGETALL', KEYS[1])
  for i = 1, #fields, 2 do
    if string.sub(fields[i], 1, 7) ~= 'paying_' then
      entry[#entry + 1] = fields[i]
      entry[#entry + 1] = fields[i + 1]
    end
  end
  redis.call('XADD', KEYS[4], '*', unpack(entry))
end

local function finish()
  redis.call('HDEL', KEYS[1], 'paying_until_ms', 'paying_token_hash')
  redis.call('ZREM', KEYS[5], order.order_id)
  append_snapshot()
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
end

local function release(final_status)
  local quantity = tonumber(order.quantity)
  redis.call('HSET', KEYS[1], 'status', final_status, 'cancel_ms', now_ms)
  if redis.call('EXISTS', KEYS[2]) == 1 then
    redis.call('INCRBY', KEYS[2], quantity)
  end
  if redis.call('HINCRBY', KEYS[3], order.user_id, -quantity) < 0 then
    redis.call('HSET', KEYS[3], order.user_id, 0)
  end
  finish()
  redis.call('PUBLISH', ARGV[7], order.deal_id)
end

local function refuse_final()
  if status == 'PAID' then
    return reply('ORDER_ALREADY_PAID')
  elseif status == 'CANCELLED' then
    return reply('ORDER_CANCELLED')
  end
  return reply('ORDER_EXPIRED')
end

if action == 'cancel' then
  if status == 'CANCELLED' then
    return reply('UNCHANGED')
  elseif status ~= 'PENDING_PAYMENT' then
    return refuse_final()
  elseif paying then
    return reply('PAYMENT_IN_PROGRESS')
  elseif now >= deadline then
    release('EXPIRED')
    return reply('ORDER_EXPIRED')
  end
  release('CANCELLED')
  return reply('CHANGED')

elseif action == 'expire' then
  if status ~= 'PENDING_PAYMENT' then
    redis.call('ZREM', KEYS[5], order.order_id)
    return reply('UNCHANGED')
  elseif now < deadline then
    return reply('NOT_DUE')
  elseif paying then
    redis.call('ZADD', KEYS[5], paying_until, order.order_id)
    return reply('PAYING')
  end
  release('EXPIRED')
  return reply('CHANGED')

elseif action == 'begin_pay' then
  if status == 'PAID' and order.payment_token_hash == token_hash then
    return reply('UNCHANGED')
  elseif status ~= 'PENDING_PAYMENT' then
    return refuse_final()
  elseif paying and order.paying_token_hash ~= token_hash then
    return reply('PAYMENT_IN_PROGRESS')
  elseif not paying and now >= deadline then
    release('EXPIRED')
    return reply('ORDER_EXPIRED')
  end
  redis.call('HSET', KEYS[1], 'paying_until_ms', string.format('%d', now + tonumber(ARGV[5])),
    'paying_token_hash', token_hash)
  return reply('PAY')

elseif action == 'complete_pay' then
  if status == 'PAID' and order.payment_token_hash == token_hash then
    return reply('UNCHANGED')
  elseif status ~= 'PENDING_PAYMENT' or order.paying_token_hash ~= token_hash then
    return reply('LOCK_LOST')
  end
  redis.call('HSET', KEYS[1], 'status', 'PAID', 'paid_ms', now_ms, 'payment_reference', ARGV[4],
    'payment_token_hash', token_hash)
  finish()
  return reply('CHANGED')

elseif action == 'abort_pay' then
  if status == 'PENDING_PAYMENT' and order.paying_token_hash == token_hash then
    redis.call('HDEL', KEYS[1], 'paying_until_ms', 'paying_token_hash')
    return reply('CHANGED')
  end
  return reply('UNCHANGED')
end
return redis.error_reply('unknown action ' .. action)
