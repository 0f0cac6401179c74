-- databases: regional
CREATE OR REPLACE VIEW redacted.export_attempts WITH (security_barrier = true) AS
  SELECT a.id, a.workspace_id, a.export_job_id, a.attempt, a.outcome, a.http_status, a.error_code, a.created_at
    FROM wact.export_attempts a;
GRANT SELECT ON redacted.export_attempts TO wact_support, wact_engineer, wact_broker;
