-- Ending a session role in steps that cannot block each other (issue 12,
-- point 4). 0400's end_session_role did everything in one transaction: grant
-- row gone, NOLOGIN, backends terminated, DROP ROLE. A session that created
-- anything it owns (a large object from `SELECT lo_from_bytea(0, 'x')`, a
-- default-privileges entry) made DROP ROLE fail, which rolled back the grant
-- removal and NOLOGIN too. Now the broker calls, each in its own transaction:
--
--   1. disable_session_role: no grant (RLS shows nothing), no group
--      membership (no privileges), NOLOGIN. Committed before anything else,
--      so nothing later can undo it.
--   2. terminate_session_backends: after that commit, so a backend that
--      reconnects in between finds the role already NOLOGIN.
--   3. drop_session_role: DROP OWNED BY (what the session owns in this
--      database, and privileges granted to it) and DROP ROLE. May fail (an
--      object in another database, a lock); the broker records the failure and
--      its sweeper retries this step until it succeeds.

-- Step 1. Idempotent; true if the role exists.
CREATE FUNCTION wact_private.disable_session_role(p_role name)
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

-- Step 2. Terminates every backend of the role, waiting up to 2 s for each
-- to exit; returns how many there were.
CREATE FUNCTION wact_private.terminate_session_backends(p_role name)
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

-- Step 3. Idempotent; true if it dropped the role. Refuses (to be retried)
-- while the role can still log in or a backend of it is alive: a live backend
-- may still hold temporary objects, and step 1 must have committed first.
-- The lock timeout keeps a blocked drop from stalling the sweeper.
CREATE FUNCTION wact_private.drop_session_role(p_role name)
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

-- 0400's minting, with the group membership granted separately (see member_opts).
CREATE OR REPLACE FUNCTION wact_private.mint_session_role(
  p_role name, p_workspace uuid, p_scope text, p_expires timestamptz, p_auth text, p_verifier text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, wact_private AS $$
DECLARE
  grp name;
  -- PostgreSQL 16+: the session uses its group's privileges (INHERIT) but
  -- cannot become the group (SET FALSE), so nothing it does (e.g. ALTER
  -- DEFAULT PRIVILEGES) is recorded under a role that outlives the session.
  -- 15 has no such option: there the group can create nothing either (the
  -- cleanup test enumerates it), only default-privilege entries for objects
  -- it can never create.
  member_opts text := CASE WHEN current_setting('server_version_num')::int >= 160000
                           THEN ' WITH INHERIT TRUE, SET FALSE' ELSE '' END;
BEGIN
  IF p_role IS NULL OR p_role !~ '^wact_sess_[0-9a-f]{32}$' THEN
    RAISE EXCEPTION 'invalid session role name' USING ERRCODE = '22023';
  END IF;
  IF p_scope = 'full' THEN grp := 'wact_engineer';
  ELSIF p_scope = 'redacted' THEN grp := 'wact_support';
  ELSE RAISE EXCEPTION 'invalid scope' USING ERRCODE = '22023';
  END IF;
  -- Sessions last at most 15 minutes (one minute of slack for clock skew).
  IF p_expires IS NULL OR p_expires <= now() OR p_expires > now() + interval '16 minutes' THEN
    RAISE EXCEPTION 'session expiry out of range' USING ERRCODE = '22023';
  END IF;
  IF p_auth = 'password' THEN
    IF p_verifier IS NULL OR p_verifier !~ '^SCRAM-SHA-256\$[0-9]+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$' THEN
      RAISE EXCEPTION 'a SCRAM-SHA-256 verifier is required' USING ERRCODE = '22023';
    END IF;
    EXECUTE format('CREATE ROLE %I LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS '
                   'CONNECTION LIMIT 32 PASSWORD %L VALID UNTIL %L',
                   p_role, p_verifier, p_expires);
  ELSIF p_auth = 'rds-iam' THEN
    EXECUTE format('CREATE ROLE %I LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS '
                   'CONNECTION LIMIT 32 VALID UNTIL %L',
                   p_role, p_expires);
    EXECUTE format('GRANT rds_iam TO %I', p_role) || member_opts;
  ELSE
    RAISE EXCEPTION 'invalid authentication mode' USING ERRCODE = '22023';
  END IF;
  EXECUTE format('GRANT %I TO %I', grp, p_role) || member_opts;
  -- Runaway statements end on their own; the session is short anyway. Set per
  -- database: roles are cluster-wide, and these settings also mark the role
  -- as this database's (regions may share a server in development).
  EXECUTE format('ALTER ROLE %I IN DATABASE %I SET statement_timeout = %L', p_role, current_database(), '120s');
  EXECUTE format('ALTER ROLE %I IN DATABASE %I SET idle_in_transaction_session_timeout = %L', p_role, current_database(), '120s');
  INSERT INTO wact_private.session_grants (role_name, workspace_id, scope, expires_at)
  VALUES (p_role, p_workspace, p_scope, p_expires);
END $$;

-- 0400's one-call form stays for tools and tests that clean up roles, now on
-- top of the steps: the drop runs in a subtransaction, so its failure no
-- longer undoes NOLOGIN and the grant removal (they commit with the call). It
-- still terminates before its own commit; the broker itself uses the steps.
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

REVOKE ALL ON FUNCTION wact_private.disable_session_role(name),
                       wact_private.terminate_session_backends(name),
                       wact_private.drop_session_role(name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wact_private.disable_session_role(name),
                          wact_private.terminate_session_backends(name),
                          wact_private.drop_session_role(name) TO wact_broker;
