-- databases: regional
-- History no service credential can erase (issue 13, point 4). A row may
-- leave wact.workspaces, audit.events, audit.chain_heads or audit.signed_heads
-- only inside erase_workspace_history, which marks its own transaction in
-- wact_private.history_erasures (a table no other role can write); anything
-- else deleting such a row is refused (42501), whoever was granted what. The
-- rule lives in a trigger (history_delete_guard), which a later GRANT cannot
-- undo. A database superuser is let through on the audit tables: nothing
-- inside the database binds one (they can drop triggers), and tests simulate
-- exactly that attacker; signed heads and the customer's digests are the
-- answer to that threat, not grants.
CREATE OR REPLACE FUNCTION wact_private.refuse_history_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
  v_ws uuid;
BEGIN
  -- Separate statements: a record field is resolved when its expression runs.
  IF TG_TABLE_NAME = 'workspaces' THEN
    v_ws := OLD.id;
  ELSE
    v_ws := OLD.stream_id;
  END IF;
  IF wact_private.erasing(v_ws) THEN
    RETURN OLD;
  END IF;
  IF TG_TABLE_SCHEMA = 'audit' AND (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION '%.% of workspace % is erased only by the wipe flow (wact_private.erase_workspace_history)',
    TG_TABLE_SCHEMA, TG_TABLE_NAME, v_ws USING ERRCODE = '42501';
END $$;
REVOKE ALL ON FUNCTION wact_private.refuse_history_delete() FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
