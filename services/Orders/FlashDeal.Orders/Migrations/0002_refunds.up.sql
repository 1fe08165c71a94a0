-- Refunds (docs/orders.md, "Refunds"): a PAID order moves on to REFUNDED when its buyer cancels it. stock_returned says
-- whether its units went back to the deal (false once the deal was over: nobody could buy them any more).
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
  CHECK (status IN ('PENDING_PAYMENT', 'PAID', 'CANCELLED', 'EXPIRED', 'REFUNDED'));
ALTER TABLE orders
  ADD COLUMN refund_time      timestamptz,
  ADD COLUMN refund_reference text,
  ADD COLUMN stock_returned   boolean;
