-- History no service credential can erase (issue 13, point 4).
--
-- Until now wact_broker could DELETE the regional wact.workspaces row and
-- then call wact_private.erase_wiped_audit_stream, removing a workspace's
-- whole audit stream with its signed heads outside the wipe flow. From here:
--
--  * no application role (wact_ingest, wact_broker, the session groups
--    wact_support / wact_engineer and the session roles minted into them)
--    may delete or truncate the anchor row, nor anything in schema audit;
--  * the only eraser is wact_private.erase_workspace_history, EXECUTE granted
--    to nobody: it runs only under wact_owner, i.e. from a connection that
--    holds the owner credential and switches to it (SET ROLE wact_owner).
--    The wipe flow (shared/lifecycle/wipe-service.ts: owner + TOTP step-up in
--    the broker route, or the operator's `wact workspace wipe`) is the one
--    code path that does so, after writing a tombstone with the stream's
--    final seq and hash into the platform log of the control database;
--  * the eraser only erases the head the tombstone names (expected seq and
--    hash, checked under the head's row lock): an event appended after the
--    tombstone was written stops the erasure instead of vanishing unrecorded.

-- Migrations run in version order on a fresh database, so 0500 (which
-- granted wact_broker DELETE on the anchor and created the old eraser) runs
-- AFTER this file there, and before it on databases migrated earlier. The
-- rule therefore lives in triggers, which a later GRANT cannot undo:
--
--  * a row may leave wact.workspaces, audit.events, audit.chain_heads or
--    audit.signed_heads only inside erase_workspace_history, which marks its
--    own transaction in wact_private.history_erasures (a table no other role
--    can write); anything else deleting such a row is refused (42501), the
--    old eraser of 0500 included, whoever was granted it;
--  * a database superuser is let through on the audit tables: nothing inside
--    the database binds one (they can drop triggers), and tests simulate
--    exactly that attacker; signed heads and the customer's digests are the
--    answer to that threat, not grants.

-- 1. The transactions that are erasing, and for which workspace. Rows live
-- only inside the eraser's transaction.
CREATE TABLE wact_private.history_erasures (
  ws uuid   NOT NULL,
  tx bigint NOT NULL DEFAULT txid_current(),
  PRIMARY KEY (ws, tx)
);
REVOKE ALL ON wact_private.history_erasures FROM PUBLIC;

CREATE FUNCTION wact_private.erasing(p_ws uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
  SELECT EXISTS (SELECT 1 FROM wact_private.history_erasures e WHERE e.ws = p_ws AND e.tx = txid_current());
$$;
REVOKE ALL ON FUNCTION wact_private.erasing(uuid) FROM PUBLIC;
-- Harmless to anyone (true only inside the eraser's own transaction); the
-- policies below call it as the querying role.
GRANT EXECUTE ON FUNCTION wact_private.erasing(uuid) TO wact_ingest, wact_broker, wact_support, wact_engineer;

CREATE FUNCTION wact_private.refuse_history_delete() RETURNS trigger
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
REVOKE ALL ON FUNCTION wact_private.refuse_history_delete() FROM PUBLIC;

CREATE TRIGGER history_delete_guard BEFORE DELETE ON wact.workspaces
  FOR EACH ROW EXECUTE FUNCTION wact_private.refuse_history_delete();
CREATE TRIGGER history_delete_guard BEFORE DELETE ON audit.chain_heads
  FOR EACH ROW EXECUTE FUNCTION wact_private.refuse_history_delete();
CREATE TRIGGER history_delete_guard BEFORE DELETE ON audit.signed_heads
  FOR EACH ROW EXECUTE FUNCTION wact_private.refuse_history_delete();
-- On the partitioned parent: cloned onto every partition, present and future.
CREATE TRIGGER history_delete_guard BEFORE DELETE ON audit.events
  FOR EACH ROW EXECUTE FUNCTION wact_private.refuse_history_delete();

-- 2. Grants, where this file runs after 0500 (they are refused by the
-- triggers anyway; revoked so that the catalog says what is meant).
REVOKE TRUNCATE ON wact.workspaces FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
REVOKE DELETE ON wact.workspaces FROM PUBLIC, wact_ingest, wact_support, wact_engineer;
DO $$
BEGIN
  IF to_regprocedure('wact_private.erase_wiped_audit_stream(uuid)') IS NOT NULL THEN
    REVOKE DELETE ON wact.workspaces FROM wact_broker;
    REVOKE EXECUTE ON FUNCTION wact_private.erase_wiped_audit_stream(uuid) FROM PUBLIC, wact_broker;
  END IF;
END $$;
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER
  ON audit.events, audit.chain_heads, audit.signed_heads, audit.signing_keys
  FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;

-- 3. The owner may see and delete exactly the anchor row it is erasing.
-- wact.workspaces forces row-level security, so even its owner sees no row
-- under workspace_isolation; these admit wact_owner for the workspace its
-- own transaction is erasing, and nothing else.
CREATE POLICY history_eraser_select ON wact.workspaces FOR SELECT TO wact_owner USING (wact_private.erasing(id));
CREATE POLICY history_eraser_delete ON wact.workspaces FOR DELETE TO wact_owner USING (wact_private.erasing(id));

-- 4. The eraser. Deletes the anchor (its keys and session grants cascade) and
-- the workspace's audit stream: chain head, signed heads, events. Refuses if
-- the stream's head is not the one the caller recorded in the tombstone.
-- EXECUTE is granted to nobody: only wact_owner (SET ROLE from the operator
-- credential) runs it; checked again inside so that a careless GRANT later
-- still does not hand it to a service.
CREATE FUNCTION wact_private.erase_workspace_history(p_ws uuid, p_expected_seq bigint, p_expected_hash text)
RETURNS TABLE (events bigint, signed_heads bigint, last_seq bigint, last_hash text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
  v_seq  bigint;
  v_hash text;
BEGIN
  -- pg_has_role is true for superusers (the operator of a development server).
  IF NOT pg_has_role(session_user, 'wact_owner', 'MEMBER') THEN
    RAISE EXCEPTION 'only the owner credential erases audit history' USING ERRCODE = '42501';
  END IF;
  IF p_ws IS NULL THEN
    RAISE EXCEPTION 'workspace id required' USING ERRCODE = '22023';
  END IF;
  SELECT h.seq, encode(h.hash, 'hex') INTO v_seq, v_hash FROM audit.chain_heads h WHERE h.stream_id = p_ws FOR UPDATE;
  IF v_seq IS DISTINCT FROM p_expected_seq OR v_hash IS DISTINCT FROM p_expected_hash THEN
    RAISE EXCEPTION 'audit stream % moved past its tombstone (head %/%, tombstone %/%): write a new tombstone first',
      p_ws, v_seq, v_hash, p_expected_seq, p_expected_hash USING ERRCODE = '40001';
  END IF;

  INSERT INTO wact_private.history_erasures (ws) VALUES (p_ws);
  DELETE FROM wact.workspaces w WHERE w.id = p_ws;
  last_seq := v_seq;
  last_hash := v_hash;
  DELETE FROM audit.chain_heads h WHERE h.stream_id = p_ws;
  DELETE FROM audit.signed_heads s WHERE s.stream_id = p_ws;
  GET DIAGNOSTICS signed_heads = ROW_COUNT;
  DELETE FROM audit.events e WHERE e.stream_id = p_ws;
  GET DIAGNOSTICS events = ROW_COUNT;
  DELETE FROM wact_private.history_erasures x WHERE x.ws = p_ws AND x.tx = txid_current();
  RETURN NEXT;
END $$;
REVOKE ALL ON FUNCTION wact_private.erase_workspace_history(uuid, bigint, text) FROM PUBLIC;
