-- Redeeming a coupon on PlaceOrder, on the coupon's slot (docs/coupons.md, "Redemption"). The order itself is placed on
-- the deal's slot in between, so redemption is three steps: hold, place the order, then confirm or release.
--
-- KEYS[1] <tag>:coupon:<n> HASH   the coupon
-- KEYS[2] <tag>:events     STREAM coupon snapshots, drained into PostgreSQL
-- ARGV[1] 'hold' | 'confirm' | 'release'
-- hold:    ARGV[2] user_id  ARGV[3] deal_id  ARGV[4] holder "<deal_id>:<user_id>:<idempotency_key>"  ARGV[5] lease ms
--          -> {'HELD', percent_off, amount_off_cents, currency} (also when this holder holds or redeemed it already)
--           | {'COUPON_NOT_FOUND'} | {'COUPON_ALREADY_REDEEMED', order_id} | {'COUPON_NOT_APPLICABLE', why}
--           | {'COUPON_IN_USE'} | {'STALE', holder} (another holder's lease ran out: the caller settles it first)
-- confirm: ARGV[2] holder  ARGV[3] order_id -> {'REDEEMED'} | {'SKIPPED', status}
--          HELD by holder -> REDEEMED on order_id; already REDEEMED on order_id -> nothing to do.
-- release: ARGV[2] holder  ARGV[3] order_id or '' -> {'RELEASED'} | {'SKIPPED', status}
--          HELD by holder, or REDEEMED on order_id -> CLAIMED.
-- Only changes a client can see (REDEEMED, back to CLAIMED) bump the version and go to the stream; HELD is internal.
-- A release's stream entry also names the order it left (released_order_id, released_redeem_ms, release_ms).

local op = ARGV[1]
local c = redis.call('HMGET', KEYS[1], 'user_id', 'status', 'holder', 'held_until_ms', 'order_id', 'redeem_before_ms',
  'deal_id', 'percent_off', 'amount_off_cents', 'currency', 'redeem_ms')
if not c[1] then
  if op == 'hold' then
    return {'COUPON_NOT_FOUND'}
  end
  return {'SKIPPED', 'MISSING'}
end
local status = c[2]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

-- extra: field/value pairs for the stream entry only (a release names the order it leaves, for CouponReleased).
local function publish(extra)
  redis.call('HINCRBY', KEYS[1], 'version', 1)
  local fields = redis.call('HGETALL', KEYS[1])
  local entry = extra or {}
  for i = 1, #fields, 2 do
    if fields[i] ~= 'holder' and fields[i] ~= 'held_until_ms' then
      entry[#entry + 1] = fields[i]
      entry[#entry + 1] = fields[i + 1]
    end
  end
  redis.call('XADD', KEYS[2], '*', unpack(entry))
end

if op == 'hold' then
  if c[1] ~= ARGV[2] then
    return {'COUPON_NOT_FOUND'}
  end
  local terms = {'HELD', c[8] or '', c[9] or '', c[10] or ''}
  if status == 'REDEEMED' then
    if c[3] == ARGV[4] then
      return terms
    end
    return {'COUPON_ALREADY_REDEEMED', c[5] or ''}
  end
  if status == 'HELD' then
    if c[3] == ARGV[4] then
      -- A retry of the same placement: its terms were checked when it took the hold.
      redis.call('HSET', KEYS[1], 'held_until_ms', string.format('%d', now + tonumber(ARGV[5])))
      return terms
    end
    if tonumber(c[4]) > now then
      return {'COUPON_IN_USE'}
    end
    return {'STALE', c[3]}
  end
  if now >= tonumber(c[6]) then
    return {'COUPON_NOT_APPLICABLE', 'expired'}
  end
  if c[7] and c[7] ~= '' and c[7] ~= ARGV[3] then
    return {'COUPON_NOT_APPLICABLE', 'deal'}
  end
  redis.call('HSET', KEYS[1], 'status', 'HELD', 'holder', ARGV[4],
    'held_until_ms', string.format('%d', now + tonumber(ARGV[5])))
  return terms
end

if op == 'confirm' then
  if status == 'HELD' and c[3] == ARGV[2] then
    redis.call('HSET', KEYS[1], 'status', 'REDEEMED', 'order_id', ARGV[3], 'redeem_ms', string.format('%d', now))
    redis.call('HDEL', KEYS[1], 'held_until_ms')
    publish()
    return {'REDEEMED'}
  end
  if status == 'REDEEMED' and c[5] == ARGV[3] then
    return {'REDEEMED'}
  end
  return {'SKIPPED', status}
end

if op == 'release' then
  local redeemed_here = status == 'REDEEMED' and ARGV[3] ~= '' and c[5] == ARGV[3]
  if (status == 'HELD' and c[3] == ARGV[2]) or redeemed_here then
    redis.call('HSET', KEYS[1], 'status', 'CLAIMED')
    redis.call('HDEL', KEYS[1], 'holder', 'held_until_ms', 'order_id', 'redeem_ms')
    if redeemed_here then
      publish({'released_order_id', c[5], 'released_redeem_ms', c[11] or '', 'release_ms', string.format('%d', now)})
    end
    return {'RELEASED'}
  end
  return {'SKIPPED', status}
end

return redis.error_reply('unknown operation ' .. tostring(op))
