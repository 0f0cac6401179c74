-- databases: regional
CREATE OR REPLACE VIEW redacted.workspaces WITH (security_barrier = true) AS
  SELECT w.id, w.name, w.region, w.created_at FROM wact.workspaces w;
GRANT SELECT ON redacted.workspaces TO wact_support, wact_engineer, wact_broker;
