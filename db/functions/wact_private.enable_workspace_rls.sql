-- databases: regional
-- Row-level security for one workspace-owned table: RLS on, forced, and the
-- workspace_isolation policy (which must not exist yet). The one definition of
-- that policy: db/policies/workspace_isolation.sql (re)applies it to every
-- workspace-owned table, ensure_ingest_partitions to each new partition. A
-- test lists every table with a workspace_id column and checks it was done.
CREATE OR REPLACE PROCEDURE wact_private.enable_workspace_rls(tbl regclass, col name DEFAULT 'workspace_id')
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
  EXECUTE format(
    'CREATE POLICY workspace_isolation ON %s USING (wact_private.workspace_visible(%I, current_user)) WITH CHECK (wact_private.workspace_visible(%I, current_user))',
    tbl, col, col);
END $$;
REVOKE ALL ON PROCEDURE wact_private.enable_workspace_rls(regclass,name) FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
