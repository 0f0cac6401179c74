-- databases: regional
CREATE OR REPLACE VIEW redacted.api_keys WITH (security_barrier = true) AS
  SELECT k.id, k.workspace_id, k.label, k.created_at, k.revoked_at FROM wact.api_keys k;
GRANT SELECT ON redacted.api_keys TO wact_support, wact_engineer, wact_broker;
