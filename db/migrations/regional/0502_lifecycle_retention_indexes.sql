-- The daily retention trim of the unpartitioned event tables deletes by time:
-- give it an index on that time instead of a sequential scan every day.
CREATE INDEX IF NOT EXISTS export_jobs_created_idx ON wact.export_jobs (created_at);
CREATE INDEX IF NOT EXISTS conversion_keys_created_idx ON wact.conversion_keys (created_at);
CREATE INDEX IF NOT EXISTS deletion_requests_requested_idx ON wact.deletion_requests (requested_at);
