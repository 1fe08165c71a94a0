DROP FUNCTION audit(text);
DROP TABLE audit_log;
