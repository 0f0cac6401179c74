-- databases: control, regional
-- The only way in for application roles: one event (object) or a batch (array).
CREATE OR REPLACE FUNCTION audit.append(p_events jsonb) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
  SELECT audit.append_at(p_events, NULL);
$$;
REVOKE ALL ON FUNCTION audit.append(jsonb) FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
GRANT EXECUTE ON FUNCTION audit.append(jsonb) TO wact_broker, wact_ingest;
