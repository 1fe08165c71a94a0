-- Domain events (docs/events.md): written in the same transaction as the state change they describe (EventOutbox),
-- then published to Redis by EventRelay with the stream entry id "<sequence>-0". Independent of 0002 (refunds) and
-- 0003 (coupons): the migrator applies every version it has not recorded, in version order, gaps included.
CREATE TABLE event_outbox (
  -- Taken under the outbox's advisory lock, so sequence order is commit order (a relay reading "> last published"
  -- never passes over a row that commits later with a smaller number).
  sequence    bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  stream      text        NOT NULL,
  -- The order id or coupon id: the stream entry's `key`.
  subject     text        NOT NULL,
  -- The payload's full name, e.g. flashdeal.events.v1.OrderPaid.
  type        text        NOT NULL,
  -- Tells apart events of one subject and type that may happen more than once (a coupon redeemed on order A, released,
  -- redeemed on order B: the order id); '' for events that happen once per subject.
  cause       text        NOT NULL DEFAULT '',
  time        timestamptz NOT NULL,
  -- flashdeal.events.v1.Event without its sequence (the relay sets it).
  payload     bytea       NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  -- Each state change is recorded once, however often and by how many consumers its snapshot is applied.
  CONSTRAINT event_outbox_once UNIQUE (subject, type, cause)
);

-- The relay's read: one stream's rows after the last published sequence.
CREATE INDEX event_outbox_by_stream ON event_outbox (stream, sequence);
