-- Depends on 0001: fails unless the migrations run in order.
ALTER TABLE accounts ADD COLUMN display_name text NOT NULL DEFAULT '';
