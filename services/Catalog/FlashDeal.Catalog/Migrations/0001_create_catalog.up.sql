-- Products, deals and the best-seller backup. Column names follow the proto fields (product_id, deal_id, *_time).

CREATE TABLE products (
    product_id       uuid        PRIMARY KEY,              -- UUIDv7: time-ordered
    name             text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    description      text        NOT NULL DEFAULT '' CHECK (char_length(description) <= 5000),
    category         text        NOT NULL DEFAULT '',
    list_price_cents bigint      NOT NULL CHECK (list_price_cents >= 0),
    currency         char(3)     NOT NULL,
    image_uri        text        NOT NULL DEFAULT '',
    create_time      timestamptz NOT NULL,
    update_time      timestamptz NOT NULL,
    archive_time     timestamptz
);

-- ListProducts: newest first, optionally within one category (keyset on (create_time, product_id)).
CREATE INDEX products_newest ON products (create_time DESC, product_id DESC);
CREATE INDEX products_category_newest ON products (category, create_time DESC, product_id DESC);

CREATE TABLE deals (
    deal_id          uuid        PRIMARY KEY,
    product_id       uuid        NOT NULL REFERENCES products (product_id),
    title            text        NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    product_name     text        NOT NULL,                 -- copied from the product at creation
    deal_price_cents bigint      NOT NULL CHECK (deal_price_cents > 0),
    list_price_cents bigint      NOT NULL,                 -- the product's price at creation
    currency         char(3)     NOT NULL,
    stock            integer     NOT NULL CHECK (stock > 0),
    per_user_limit   integer     NOT NULL CHECK (per_user_limit >= 1 AND per_user_limit <= stock),
    start_time       timestamptz NOT NULL,
    end_time         timestamptz NOT NULL,
    create_time      timestamptz NOT NULL,
    update_time      timestamptz NOT NULL,
    cancel_time      timestamptz,
    cancel_reason    text,
    -- Bumped by every change; written to Redis with the config so an older writer never overwrites a newer one.
    version          bigint      NOT NULL DEFAULT 1,
    CHECK (end_time > start_time)
);

-- ListDeals: by start_time ascending, then deal_id; the warmer's "opening soon" scan uses the same index.
CREATE INDEX deals_by_start ON deals (start_time, deal_id);
CREATE INDEX deals_by_product ON deals (product_id, start_time, deal_id);

-- Periodic copy of the Redis rankings, served when Redis is unavailable.
CREATE TABLE best_sellers (
    time_window  text        NOT NULL,                     -- hour | day | week | all_time
    rank         integer     NOT NULL,
    product_id   uuid        NOT NULL,
    units_sold   bigint      NOT NULL,
    compute_time timestamptz NOT NULL,
    PRIMARY KEY (time_window, rank)
);
