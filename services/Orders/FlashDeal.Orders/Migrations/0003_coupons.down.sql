ALTER TABLE orders DROP COLUMN discount_cents, DROP COLUMN coupon_id;
DROP TABLE coupons;
DROP TABLE campaigns;
