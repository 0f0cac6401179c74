-- databases: regional
-- The first eraser of a wiped workspace's audit stream, superseded by
-- wact_private.erase_workspace_history (which checks the tombstone's head).
-- EXECUTE is granted to nobody, and the history_delete_guard triggers refuse
-- its deletes anyway (they admit only erase_workspace_history's transaction);
-- kept so that databases made before stay comparable, and so that the role
-- tests can show it is harmless. Only for a workspace whose anchor row is
-- gone: the probe insert succeeds exactly when the anchor still exists
-- (foreign-key checks see every row; this definer, as owner under forced
-- row-level security, would see none with a plain SELECT).
CREATE OR REPLACE FUNCTION wact_private.erase_wiped_audit_stream(p_ws uuid)
RETURNS TABLE (events bigint, last_seq bigint, last_hash text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
  n bigint;
BEGIN
  BEGIN
    INSERT INTO wact_private.wipe_probe (ws) VALUES (p_ws);
    RAISE EXCEPTION 'anchor present' USING ERRCODE = 'P0001';
  EXCEPTION
    WHEN foreign_key_violation THEN NULL; -- no anchor: wiped (or never here)
    WHEN raise_exception THEN
      RAISE EXCEPTION 'workspace % still exists in this region: wipe it first', p_ws USING ERRCODE = '55000';
  END;
  events := 0;
  IF to_regclass('audit.chain_heads') IS NOT NULL THEN
    EXECUTE 'SELECT seq, encode(hash, ''hex'') FROM audit.chain_heads WHERE stream_id = $1' INTO last_seq, last_hash USING p_ws;
    EXECUTE 'DELETE FROM audit.chain_heads WHERE stream_id = $1' USING p_ws;
  END IF;
  IF to_regclass('audit.signed_heads') IS NOT NULL THEN
    EXECUTE 'DELETE FROM audit.signed_heads WHERE stream_id = $1' USING p_ws;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('audit.events') AND attname = 'stream_id') THEN
    EXECUTE 'DELETE FROM audit.events WHERE stream_id = $1' USING p_ws;
  ELSE
    EXECUTE 'DELETE FROM audit.events WHERE workspace_id = $1' USING p_ws;
  END IF;
  GET DIAGNOSTICS n = ROW_COUNT;
  events := n;
  RETURN NEXT;
END $$;
REVOKE ALL ON FUNCTION wact_private.erase_wiped_audit_stream(uuid) FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
