-- The row counts how often this migration ran: exactly once, however many migrators race.
CREATE TABLE audit_log (
  id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event   text   NOT NULL
);
INSERT INTO audit_log (event) VALUES ('0003 applied');

CREATE FUNCTION audit(message text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit_log (event) VALUES (message);
END;
$$;
