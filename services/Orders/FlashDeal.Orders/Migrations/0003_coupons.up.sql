-- First-come coupon campaigns (docs/coupons.md). Campaign rows are written by CreateCampaign; coupon rows arrive from
-- the per-campaign Redis streams (CouponStreamConsumer), newest version wins.
CREATE TABLE campaigns (
  campaign_id      uuid        PRIMARY KEY,
  name             text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  percent_off      integer     CHECK (percent_off BETWEEN 1 AND 100),
  amount_off_cents bigint      CHECK (amount_off_cents >= 1),
  currency         text        NOT NULL,
  total_quantity   integer     NOT NULL CHECK (total_quantity BETWEEN 1 AND 1000000),
  start_time       timestamptz NOT NULL,
  end_time         timestamptz NOT NULL,
  redeem_before    timestamptz NOT NULL,
  deal_id          uuid,
  create_time      timestamptz NOT NULL,
  CHECK ((percent_off IS NULL) <> (amount_off_cents IS NULL)),
  CHECK (start_time < end_time AND redeem_before >= end_time)
);

-- ListCampaigns: keyset pagination on (start_time, campaign_id) of campaigns not yet ended.
CREATE INDEX campaigns_by_start ON campaigns (start_time, campaign_id);

CREATE TABLE coupons (
  coupon_id        text        PRIMARY KEY,
  campaign_id      uuid        NOT NULL,
  user_id          text        NOT NULL,
  status           text        NOT NULL CHECK (status IN ('CLAIMED', 'REDEEMED')),
  claim_time       timestamptz NOT NULL,
  order_id         uuid,
  redeem_time      timestamptz,
  campaign_name    text        NOT NULL,
  percent_off      integer,
  amount_off_cents bigint,
  currency         text        NOT NULL,
  redeem_before    timestamptz NOT NULL,
  deal_id          uuid,
  idempotency_key  text        NOT NULL,
  -- Bumped by every change in Redis; an upsert only ever replaces an older version.
  version          bigint      NOT NULL,
  CONSTRAINT coupons_one_per_user UNIQUE (campaign_id, user_id)
);

-- "My coupons", newest first.
CREATE INDEX coupons_by_user ON coupons (user_id, claim_time DESC, campaign_id DESC);

ALTER TABLE orders ADD COLUMN coupon_id text, ADD COLUMN discount_cents bigint NOT NULL DEFAULT 0;
