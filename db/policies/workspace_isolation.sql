-- databases: regional
-- Row visibility for every workspace-owned table: one policy, the same on
-- each (wact_private.workspace_visible decides; wact_private.enable_workspace_rls
-- holds the policy's text). Services see every workspace, a session role only
-- the workspace it was granted, until expiry.
--
-- A new workspace-owned table is added to this list (and enables and forces
-- row-level security in its migration); test/db/roles-and-rls.test.ts fails
-- for a table with a workspace_id column that is missing here. Partitions get
-- the policy too (direct access to one needs a grant nobody has, but the test
-- lists them as well).
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT t.tbl, w.col
      FROM (VALUES
        ('wact.workspaces', 'id'),
        ('wact_private.workspace_keys', 'workspace_id'),
        ('wact_private.key_reencryption', 'workspace_id'),
        ('wact.bsp_credentials', 'workspace_id'),
        ('wact.links', 'workspace_id'),
        ('wact.clicks', 'workspace_id'),
        ('wact.conversations', 'workspace_id'),
        ('wact.webhook_receipts', 'workspace_id'),
        ('wact.raw_webhook_payloads', 'workspace_id'),
        ('wact.conversions', 'workspace_id'),
        ('wact.conversion_keys', 'workspace_id'),
        ('wact.api_keys', 'workspace_id'),
        ('wact.ad_platform_credentials', 'workspace_id'),
        ('wact.export_jobs', 'workspace_id'),
        ('wact.export_attempts', 'workspace_id'),
        ('wact.audit_export_links', 'workspace_id'),
        ('wact.audit_siem_destinations', 'workspace_id'),
        ('wact.retention_settings', 'workspace_id'),
        ('wact.deletion_requests', 'workspace_id'),
        ('wact.deletion_targets', 'workspace_id')
      ) AS w (tbl, col)
      CROSS JOIN LATERAL (SELECT w.tbl::regclass AS tbl
                          UNION ALL
                          SELECT p.relid FROM pg_partition_tree(w.tbl::regclass) p WHERE p.level > 0) t
  LOOP
    EXECUTE format('DROP POLICY IF EXISTS workspace_isolation ON %s', r.tbl);
    CALL wact_private.enable_workspace_rls(r.tbl, r.col);
  END LOOP;
END $$;
