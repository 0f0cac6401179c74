-- databases: regional
-- Ending a session role is three steps that cannot block each other (issue
-- 12, point 4), each called by the broker in its own transaction:
--   1. disable_session_role: no grant (RLS shows nothing), no group
--      membership (no privileges), NOLOGIN. Committed before anything else,
--      so nothing later can undo it.
--   2. terminate_session_backends: after that commit, so a backend that
--      reconnects in between finds the role already NOLOGIN.
--   3. drop_session_role: DROP OWNED BY (what the session owns in this
--      database, and privileges granted to it) and DROP ROLE. May fail (an
--      object in another database, a lock); the broker records the failure
--      and its sweeper retries this step until it succeeds.
-- Step 1. Idempotent; true if the role exists.
CREATE OR REPLACE FUNCTION wact_private.disable_session_role(p_role name)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, wact_private AS $$
DECLARE
  grp name;
BEGIN
  IF p_role IS NULL OR p_role !~ '^wact_sess_[0-9a-f]{32}$' THEN
    RAISE EXCEPTION 'invalid session role name' USING ERRCODE = '22023';
  END IF;
  DELETE FROM wact_private.session_grants WHERE role_name = p_role;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = p_role) THEN
    RETURN false;
  END IF;
  EXECUTE format('ALTER ROLE %I NOLOGIN', p_role);
  -- Privileges come from the scope group; without it a backend that is still
  -- running (termination is asynchronous) can read nothing at all.
  FOR grp IN
    SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles r ON r.oid = m.member
     WHERE r.rolname = p_role AND g.rolname IN ('wact_support', 'wact_engineer')
  LOOP
    EXECUTE format('REVOKE %I FROM %I', grp, p_role);
  END LOOP;
  RETURN true;
END $$;
REVOKE ALL ON FUNCTION wact_private.disable_session_role(name) FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
GRANT EXECUTE ON FUNCTION wact_private.disable_session_role(name) TO wact_broker;
