-- databases: regional
-- Step 3. Idempotent; true if it dropped the role. Refuses (to be retried)
-- while the role can still log in or a backend of it is alive: a live backend
-- may still hold temporary objects, and step 1 must have committed first.
-- The lock timeout keeps a blocked drop from stalling the sweeper.
CREATE OR REPLACE FUNCTION wact_private.drop_session_role(p_role name)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, wact_private SET lock_timeout = '3s' AS $$
BEGIN
  IF p_role IS NULL OR p_role !~ '^wact_sess_[0-9a-f]{32}$' THEN
    RAISE EXCEPTION 'invalid session role name' USING ERRCODE = '22023';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = p_role) THEN
    RETURN false;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = p_role AND rolcanlogin) THEN
    RAISE EXCEPTION 'session role % can still log in: disable it first', p_role USING ERRCODE = '55000';
  END IF;
  IF EXISTS (SELECT 1 FROM pg_stat_activity WHERE usename = p_role) THEN
    RAISE EXCEPTION 'session role % still has a backend', p_role USING ERRCODE = '55006';
  END IF;
  -- DROP OWNED needs the privileges of the role. wact_owner created it, so it
  -- may grant it to itself (PostgreSQL 16+: implicit ADMIN OPTION of the
  -- creator; 15: CREATEROLE). The membership ends with the role, in this
  -- same transaction; if the drop fails it is rolled back with it.
  IF NOT pg_has_role(current_user, p_role, 'USAGE') THEN
    EXECUTE format('GRANT %I TO %I', p_role, current_user);
  END IF;
  EXECUTE format('DROP OWNED BY %I', p_role);
  EXECUTE format('DROP ROLE %I', p_role);
  RETURN true;
END $$;
REVOKE ALL ON FUNCTION wact_private.drop_session_role(name) FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
GRANT EXECUTE ON FUNCTION wact_private.drop_session_role(name) TO wact_broker;
