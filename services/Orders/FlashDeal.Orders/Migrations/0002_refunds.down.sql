-- Without the REFUNDED status a refunded order is recorded as CANCELLED: it holds no units and owes no money.
UPDATE orders SET status = 'CANCELLED', cancel_time = coalesce(cancel_time, refund_time) WHERE status = 'REFUNDED';
ALTER TABLE orders DROP COLUMN stock_returned, DROP COLUMN refund_reference, DROP COLUMN refund_time;
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
  CHECK (status IN ('PENDING_PAYMENT', 'PAID', 'CANCELLED', 'EXPIRED'));
