-- databases: regional
-- Keys that hold against backups (issue 14): every change to a workspace's
-- wrapped keys (new version, re-wrap, retirement, wipe) is announced on
-- channel wact_workspace_keys with the workspace id, after commit. Every
-- service process LISTENs and drops its cached clear keys of that workspace
-- at once (shared/crypto/key-events.ts), so a wipe or a retired key reaches
-- every process within seconds, whatever path deleted the rows (including ON
-- DELETE CASCADE from the anchor). Fired by trigger workspace_keys_announce.
CREATE OR REPLACE FUNCTION wact_private.announce_workspace_keys() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
  -- Identical payloads in one transaction are delivered once: one per workspace.
  PERFORM pg_notify('wact_workspace_keys', coalesce(NEW.workspace_id, OLD.workspace_id)::text);
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION wact_private.announce_workspace_keys() FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
