-- Audit log (minimal first version; the audit feature owns this file until it lands).
CREATE SCHEMA audit;
REVOKE ALL ON SCHEMA audit FROM PUBLIC;
GRANT USAGE ON SCHEMA audit TO wact_ingest, wact_broker;

CREATE TABLE audit.events (
  id           bigserial PRIMARY KEY,
  occurred_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  workspace_id uuid,
  action       text NOT NULL,
  event        jsonb NOT NULL
);

-- The only way in: application roles may append, never update or delete.
CREATE FUNCTION audit.append(p_event jsonb) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
  INSERT INTO audit.events (workspace_id, action, event)
  VALUES ((p_event->>'workspaceId')::uuid, p_event->>'action', p_event)
  RETURNING id;
$$;
REVOKE ALL ON FUNCTION audit.append(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.append(jsonb) TO wact_ingest, wact_broker;
