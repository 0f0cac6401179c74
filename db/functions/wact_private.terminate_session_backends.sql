-- databases: regional
-- Step 2. Terminates every backend of the role, waiting up to 2 s for each
-- to exit; returns how many there were.
CREATE OR REPLACE FUNCTION wact_private.terminate_session_backends(p_role name)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, wact_private AS $$
DECLARE
  backend integer;
  n integer := 0;
BEGIN
  IF p_role IS NULL OR p_role !~ '^wact_sess_[0-9a-f]{32}$' THEN
    RAISE EXCEPTION 'invalid session role name' USING ERRCODE = '22023';
  END IF;
  FOR backend IN SELECT a.pid FROM pg_stat_activity a WHERE a.usename = p_role AND a.pid <> pg_backend_pid() LOOP
    PERFORM pg_terminate_backend(backend, 2000);
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;
REVOKE ALL ON FUNCTION wact_private.terminate_session_backends(name) FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
GRANT EXECUTE ON FUNCTION wact_private.terminate_session_backends(name) TO wact_broker;
