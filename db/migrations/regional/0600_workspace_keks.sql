-- Keys that hold against backups (issue 14).
--
-- 1. Every change to a workspace's wrapped keys (new version, re-wrap,
--    retirement, wipe) is announced on channel wact_workspace_keys with the
--    workspace id, after commit. Every service process LISTENs and drops its
--    cached clear keys of that workspace at once (shared/crypto/key-events.ts),
--    so a wipe or a retired key reaches every process within seconds, whatever
--    path deleted the rows (including ON DELETE CASCADE from the anchor).
CREATE FUNCTION wact_private.announce_workspace_keys() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
  -- Identical payloads in one transaction are delivered once: one per workspace.
  PERFORM pg_notify('wact_workspace_keys', coalesce(NEW.workspace_id, OLD.workspace_id)::text);
  RETURN NULL;
END $$;

CREATE TRIGGER workspace_keys_announce
  AFTER INSERT OR UPDATE OR DELETE ON wact_private.workspace_keys
  FOR EACH ROW EXECUTE FUNCTION wact_private.announce_workspace_keys();

-- 2. Progress of `wact workspace rotate-keys --reencrypt`: one row per table
--    and target data-key version, with the keyset cursor of the last batch,
--    written in the same transaction as the batch, so an interrupted run resumes
--    exactly where it stopped. Goes with the workspace (cascade, and the wipe
--    deletes every workspace table).
CREATE TABLE wact_private.key_reencryption (
  workspace_id   uuid NOT NULL REFERENCES wact.workspaces (id) ON DELETE CASCADE,
  target_version integer NOT NULL CHECK (target_version > 0),
  database       text NOT NULL CHECK (database IN ('control', 'regional')),
  table_name     text NOT NULL,
  cursor         jsonb,
  rows_done      bigint NOT NULL DEFAULT 0,
  finished_at    timestamptz,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, target_version, database, table_name)
);
CALL wact_private.enable_workspace_rls('wact_private.key_reencryption');
-- The broker carries out wipes (it deletes every workspace-owned table, see 0500).
GRANT SELECT, DELETE ON wact_private.key_reencryption TO wact_broker;
