-- databases: regional
CREATE OR REPLACE VIEW redacted.bsp_credentials WITH (security_barrier = true) AS
  -- Which providers are configured, never the secrets.
  SELECT b.workspace_id, b.provider, b.created_at, b.updated_at FROM wact.bsp_credentials b;
GRANT SELECT ON redacted.bsp_credentials TO wact_support, wact_engineer, wact_broker;
