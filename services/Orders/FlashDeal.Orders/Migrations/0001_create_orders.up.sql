-- Orders accepted by the order path. Rows arrive from the per-deal Redis streams (OrderStreamConsumer), or directly
-- from the row-lock baseline. A row only moves PENDING_PAYMENT -> PAID | CANCELLED | EXPIRED.
CREATE TABLE orders (
  order_id           uuid        PRIMARY KEY,
  user_id            text        NOT NULL,
  deal_id            uuid        NOT NULL,
  product_id         text        NOT NULL,
  product_name       text        NOT NULL,
  deal_title         text        NOT NULL,
  quantity           integer     NOT NULL CHECK (quantity > 0),
  unit_price_cents   bigint      NOT NULL CHECK (unit_price_cents >= 0),
  total_cents        bigint      NOT NULL CHECK (total_cents >= 0),
  currency           text        NOT NULL,
  status             text        NOT NULL
                     CHECK (status IN ('PENDING_PAYMENT', 'PAID', 'CANCELLED', 'EXPIRED')),
  idempotency_key    text        NOT NULL,
  create_time        timestamptz NOT NULL,
  pay_deadline       timestamptz NOT NULL,
  paid_time          timestamptz,
  cancel_time        timestamptz,
  payment_reference  text,
  payment_token_hash text,
  -- Idempotency keys are scoped to a deal: the Redis script checks them inside the deal's hash slot.
  CONSTRAINT orders_idempotency UNIQUE (deal_id, user_id, idempotency_key)
);

-- "My orders", newest first: keyset pagination on (create_time, order_id) per user.
CREATE INDEX orders_by_user ON orders (user_id, create_time DESC, order_id DESC);

-- The row-lock baseline's stock (Orders:Strategy = PostgresRowLock), seeded from the Redis deal config.
CREATE TABLE deal_inventory (
  deal_id          uuid        PRIMARY KEY,
  product_id       text        NOT NULL,
  product_name     text        NOT NULL,
  deal_title       text        NOT NULL,
  unit_price_cents bigint      NOT NULL,
  currency         text        NOT NULL,
  initial_stock    integer     NOT NULL CHECK (initial_stock >= 0),
  remaining        integer     NOT NULL CHECK (remaining >= 0),
  per_user_limit   integer     NOT NULL,
  start_time       timestamptz NOT NULL,
  end_time         timestamptz NOT NULL,
  cancelled        boolean     NOT NULL DEFAULT false
);
