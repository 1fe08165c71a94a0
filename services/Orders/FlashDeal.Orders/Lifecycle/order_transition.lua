-- The order state machine (docs/orders.md): PENDING_PAYMENT -> PAID -> REFUNDED, or PENDING_PAYMENT -> CANCELLED |
-- EXPIRED, each change atomic with its effects. Leaving PENDING_PAYMENT for CANCELLED or EXPIRED returns the units
-- exactly once: only the one call that finds the order pending can do it, however cancel, expiry and payment race.
-- PAID -> REFUNDED likewise: only the one complete_refund that finds the order PAID returns units (while the deal is
-- live) and the buyer's count.
--
-- KEYS[1] :order:<id> HASH  KEYS[2] :stock STRING  KEYS[3] :buyers HASH  KEYS[4] :orders STREAM  KEYS[5] :deadlines ZSET
-- KEYS[6] :config HASH (the deal's end_ms, cancelled)  KEYS[7] :refunding ZSET (order_id by refund lock end)
-- ARGV[1] action: cancel | expire | begin_pay | complete_pay | abort_pay | settle_pay | settle_unpaid
--                 | begin_refund | complete_refund | abort_refund
-- ARGV[2] user_id of the caller ('' for the sweeper and the reconciler)   ARGV[3] SHA-256 of the payment token ('' if none)
-- ARGV[4] payment reference (complete_pay, settle_pay) or refund reference (complete_refund)
-- ARGV[5] payment / refund lock ms   ARGV[6] retention ms of a final order hash
-- ARGV[7] pub/sub channel announcing returned stock   ARGV[8] retention ms of the deal's keys after its end
--
-- Returns {outcome, <the order hash as field, value, ...>}; outcome is one of
--   CHANGED, UNCHANGED, PAY (begin_pay: go and charge), REFUND (begin_refund: go and refund), NOT_DUE,
--   PAYING (expiry deferred by a payment), CHECK_PAYMENT (a payment lock ran out without an outcome: ask the provider
--   whether the charge was taken, then settle_pay or settle_unpaid), LOCK_LOST (complete_pay: the order stopped
--   waiting for this payment), NOT_PAID (complete_refund on an order that is not PAID), ORDER_ALREADY_PAID,
--   ORDER_CANCELLED, ORDER_EXPIRED, ORDER_REFUNDED, PAYMENT_IN_PROGRESS; or {'NOT_FOUND'}.

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
-- A payment began and its lock ran out without complete_pay or abort_pay (the process died, or is very late): whether
-- the money was taken is only known to the provider.
local doubtful = status == 'PENDING_PAYMENT' and not paying and (order.paying_token_hash or '') ~= ''

local function reply(outcome)
  return {outcome, unpack(redis.call('HGETALL', KEYS[1]))}
end

-- The stream entry is the order as it is now, without the payment and refund lock fields.
local function append_snapshot()
  local entry = {}
  local fields = redis.call('HGETALL', KEYS[1])
  for i = 1, #fields, 2 do
    if string.sub(fields[i], 1, 7) ~= 'paying_' and string.sub(fields[i], 1, 10) ~= 'refunding_' then
      entry[#entry + 1] = fields[i]
      entry[#entry + 1] = fields[i + 1]
    end
  end
  redis.call('XADD', KEYS[4], '*', unpack(entry))
end

local config = redis.call('HMGET', KEYS[6], 'end_ms', 'cancelled')
local end_ms = tonumber(config[1])

-- A paid hash is kept as long as the deal's keys (end + retention), so a refund always finds it there and returns the
-- units exactly once; other final hashes go after FinalOrderRetention.
local function keep_paid()
  local keep_until = now + tonumber(ARGV[6])
  if end_ms then
    keep_until = math.max(keep_until, end_ms + tonumber(ARGV[8]))
  end
  redis.call('PEXPIREAT', KEYS[1], keep_until)
end

local function finish()
  redis.call('HDEL', KEYS[1], 'paying_until_ms', 'paying_token_hash')
  redis.call('ZREM', KEYS[5], order.order_id)
  append_snapshot()
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
end

local function mark_paid(reference, paid_token_hash)
  redis.call('HSET', KEYS[1], 'status', 'PAID', 'paid_ms', now_ms, 'payment_reference', reference,
    'payment_token_hash', paid_token_hash)
  finish()
  keep_paid()
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
  elseif status == 'REFUNDED' then
    return reply('ORDER_REFUNDED')
  end
  return reply('ORDER_EXPIRED')
end

if action == 'cancel' then
  if status == 'CANCELLED' or status == 'REFUNDED' then
    return reply('UNCHANGED')
  elseif status ~= 'PENDING_PAYMENT' then
    return refuse_final()
  elseif paying then
    return reply('PAYMENT_IN_PROGRESS')
  elseif doubtful then
    return reply('CHECK_PAYMENT')
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
  elseif doubtful then
    -- Never expire an order that may have been paid; if the provider cannot be asked now, look again a lock later.
    redis.call('ZADD', KEYS[5], now + tonumber(ARGV[5]), order.order_id)
    return reply('CHECK_PAYMENT')
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
  elseif doubtful and now >= deadline then
    return reply('CHECK_PAYMENT')
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
  mark_paid(ARGV[4], token_hash)
  return reply('CHANGED')

elseif action == 'abort_pay' then
  if status == 'PENDING_PAYMENT' and order.paying_token_hash == token_hash then
    redis.call('HDEL', KEYS[1], 'paying_until_ms', 'paying_token_hash')
    return reply('CHANGED')
  end
  return reply('UNCHANGED')

elseif action == 'settle_pay' then
  -- The provider holds a charge for this order whose payment lock ran out: the money was taken, so the order is
  -- honoured, even past its pay deadline.
  if not doubtful then
    return reply('UNCHANGED')
  end
  mark_paid(ARGV[4], order.paying_token_hash)
  return reply('CHANGED')

elseif action == 'settle_unpaid' then
  -- The provider holds no charge: the lapsed lock is dropped and the order waits (or expires) as if never paid.
  if not doubtful then
    return reply('UNCHANGED')
  end
  redis.call('HDEL', KEYS[1], 'paying_until_ms', 'paying_token_hash')
  return reply('CHANGED')

elseif action == 'begin_refund' then
  if status == 'REFUNDED' then
    return reply('UNCHANGED')
  elseif status ~= 'PAID' then
    return refuse_final()
  end
  -- Not exclusive: racing cancels may all ask the provider (a refund is idempotent per order there) and the first
  -- complete_refund wins. The lock only tells the reconciler when an unfinished refund is worth asking about.
  local until_ms = now + tonumber(ARGV[5])
  redis.call('HSET', KEYS[1], 'refunding_until_ms', string.format('%d', until_ms))
  redis.call('ZADD', KEYS[7], until_ms, order.order_id)
  redis.call('PEXPIREAT', KEYS[7], math.max(until_ms + tonumber(ARGV[6]),
    (end_ms or 0) + tonumber(ARGV[8])))
  return reply('REFUND')

elseif action == 'complete_refund' then
  if status == 'REFUNDED' then
    redis.call('ZREM', KEYS[7], order.order_id)
    return reply('UNCHANGED')
  elseif status ~= 'PAID' then
    return reply('NOT_PAID')
  end
  local quantity = tonumber(order.quantity)
  -- Units go back only while somebody can still buy them; after the end or a cancellation of the deal they stay
  -- sold. The buyer's count is returned either way (docs/orders.md, "Refunds").
  local live = end_ms ~= nil and now < end_ms and config[2] ~= '1' and redis.call('EXISTS', KEYS[2]) == 1
  redis.call('HSET', KEYS[1], 'status', 'REFUNDED', 'refund_ms', now_ms, 'refund_reference', ARGV[4],
    'stock_returned', live and '1' or '0')
  redis.call('HDEL', KEYS[1], 'refunding_until_ms')
  redis.call('ZREM', KEYS[7], order.order_id)
  if live then
    redis.call('INCRBY', KEYS[2], quantity)
  end
  if redis.call('EXISTS', KEYS[3]) == 1 and redis.call('HINCRBY', KEYS[3], order.user_id, -quantity) < 0 then
    redis.call('HSET', KEYS[3], order.user_id, 0)
  end
  append_snapshot()
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
  if live then
    redis.call('PUBLISH', ARGV[7], order.deal_id)
  end
  return reply('CHANGED')

elseif action == 'abort_refund' then
  -- The reconciler found no refund at the provider for a lock that ran out: the order stays PAID.
  local refunding_until = tonumber(order.refunding_until_ms or '0')
  if status == 'PAID' and refunding_until > now then
    return reply('UNCHANGED')
  end
  redis.call('HDEL', KEYS[1], 'refunding_until_ms')
  redis.call('ZREM', KEYS[7], order.order_id)
  return reply(status == 'PAID' and 'CHANGED' or 'UNCHANGED')
end
return redis.error_reply('unknown action ' .. action)
