-- databases: control, regional
-- Reads that employees and services must justify (also enforced in the service).
CREATE OR REPLACE FUNCTION audit.is_read_action(p_action text) RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
  SELECT p_action ~ '^data\.' OR p_action = 'db.query'
      OR p_action ~ '\.(read|list|show|search|export|download|unmask|browse)$';
$$;
REVOKE ALL ON FUNCTION audit.is_read_action(text) FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
