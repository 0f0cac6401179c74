-- databases: regional
-- Ends a session role in one call, for tools and tests that clean up roles,
-- on top of the three steps the broker uses (disable_session_role,
-- terminate_session_backends, drop_session_role): the drop runs in a
-- subtransaction, so its failure does not undo NOLOGIN and the grant removal
-- (they commit with the call). It still terminates before its own commit.
-- Returns the number of backends terminated.
CREATE OR REPLACE FUNCTION wact_private.end_session_role(p_role name)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, wact_private AS $$
DECLARE
  n integer;
BEGIN
  IF NOT wact_private.disable_session_role(p_role) THEN
    RETURN 0;
  END IF;
  n := wact_private.terminate_session_backends(p_role);
  BEGIN
    PERFORM wact_private.drop_session_role(p_role);
  EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'session role % disabled but not dropped: %', p_role, SQLERRM;
  END;
  RETURN n;
END $$;
REVOKE ALL ON FUNCTION wact_private.end_session_role(name) FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
GRANT EXECUTE ON FUNCTION wact_private.end_session_role(name) TO wact_broker;
