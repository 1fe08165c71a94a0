-- The fast-changing part of a deal in one round trip, on the clock of the node that holds the deal.
-- KEYS[1] {deal:<id>}:stock
-- Returns {unix seconds, microseconds, remaining units or nil}
local now = redis.call('TIME')
return {now[1], now[2], redis.call('GET', KEYS[1])}
