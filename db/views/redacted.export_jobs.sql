-- databases: regional
CREATE OR REPLACE VIEW redacted.export_jobs WITH (security_barrier = true) AS
  SELECT j.id, j.workspace_id, j.conversion_id, j.platform, j.click_kind, j.created_at FROM wact.export_jobs j;
GRANT SELECT ON redacted.export_jobs TO wact_support, wact_engineer, wact_broker;
