-- databases: regional
-- History no service credential can erase (issue 13, point 4): the only
-- eraser of a workspace. Deletes the anchor (its keys and session grants
-- cascade) and the workspace's audit stream: chain head, signed heads,
-- events. Refuses if the stream's head is not the one the caller recorded in
-- the tombstone it wrote first into the control database's platform log, so
-- an event appended after the tombstone stops the erasure instead of
-- vanishing unrecorded. EXECUTE is granted to nobody: only wact_owner (SET
-- ROLE from the operator credential, see shared/lifecycle/wipe-service.ts)
-- runs it; checked again inside so that a careless GRANT later still does
-- not hand it to a service. It marks its own transaction in
-- wact_private.history_erasures, which the history_delete_guard triggers and
-- the history_eraser policies admit.
CREATE OR REPLACE FUNCTION wact_private.erase_workspace_history(p_ws uuid, p_expected_seq bigint, p_expected_hash text)
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
REVOKE ALL ON FUNCTION wact_private.erase_workspace_history(uuid,bigint,text) FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
