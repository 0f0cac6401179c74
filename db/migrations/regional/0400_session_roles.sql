-- Access broker (regional side): minting and ending the per-session database
-- roles. wact_broker never holds CREATEROLE: it may only EXECUTE these
-- definer functions, which are owned by wact_owner and check every argument.
--
-- A session role: LOGIN, a SCRAM verifier computed by the broker (the clear
-- password never reaches the server, nor its statement log) or RDS IAM
-- authentication, VALID UNTIL the session's expiry, member of wact_support
-- (redacted) or wact_engineer (full), and a row in wact_private.session_grants
-- so row-level security shows it only the granted workspace until expiry.

CREATE FUNCTION wact_private.mint_session_role(
  p_role name, p_workspace uuid, p_scope text, p_expires timestamptz, p_auth text, p_verifier text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, wact_private AS $$
DECLARE
  grp name;
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
                   'CONNECTION LIMIT 32 PASSWORD %L VALID UNTIL %L IN ROLE %I',
                   p_role, p_verifier, p_expires, grp);
  ELSIF p_auth = 'rds-iam' THEN
    EXECUTE format('CREATE ROLE %I LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS '
                   'CONNECTION LIMIT 32 VALID UNTIL %L IN ROLE %I',
                   p_role, p_expires, grp);
    EXECUTE format('GRANT rds_iam TO %I', p_role);
  ELSE
    RAISE EXCEPTION 'invalid authentication mode' USING ERRCODE = '22023';
  END IF;
  -- Runaway statements end on their own; the session is short anyway. Set per
  -- database: roles are cluster-wide, and these settings also mark the role
  -- as this database's (regions may share a server in development).
  EXECUTE format('ALTER ROLE %I IN DATABASE %I SET statement_timeout = %L', p_role, current_database(), '120s');
  EXECUTE format('ALTER ROLE %I IN DATABASE %I SET idle_in_transaction_session_timeout = %L', p_role, current_database(), '120s');
  INSERT INTO wact_private.session_grants (role_name, workspace_id, scope, expires_at)
  VALUES (p_role, p_workspace, p_scope, p_expires);
END $$;

-- Ends a session role: no new logins, grant row gone (RLS shows nothing at
-- once), every backend of the role terminated (waiting up to 2 s each), role
-- dropped. Idempotent. Returns the number of backends terminated.
CREATE FUNCTION wact_private.end_session_role(p_role name)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, wact_private AS $$
DECLARE
  backend integer;
  n integer := 0;
BEGIN
  IF p_role IS NULL OR p_role !~ '^wact_sess_[0-9a-f]{32}$' THEN
    RAISE EXCEPTION 'invalid session role name' USING ERRCODE = '22023';
  END IF;
  DELETE FROM wact_private.session_grants WHERE role_name = p_role;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = p_role) THEN
    RETURN 0;
  END IF;
  EXECUTE format('ALTER ROLE %I NOLOGIN', p_role);
  FOR backend IN SELECT a.pid FROM pg_stat_activity a WHERE a.usename = p_role LOOP
    PERFORM pg_terminate_backend(backend, 2000);
    n := n + 1;
  END LOOP;
  EXECUTE format('DROP ROLE %I', p_role);
  RETURN n;
END $$;

-- Session roles of this database whose grant has expired or vanished: the
-- broker's sweeper ends them even if its own bookkeeping (control database)
-- lost track. A role is this database's if it has settings here (see above).
CREATE FUNCTION wact_private.stale_session_roles()
RETURNS SETOF name
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, wact_private AS $$
  SELECT r.rolname FROM pg_roles r
   WHERE r.rolname ~ '^wact_sess_[0-9a-f]{32}$'
     AND EXISTS (SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
                  WHERE s.setrole = r.oid AND d.datname = current_database())
     AND NOT EXISTS (SELECT 1 FROM wact_private.session_grants g
                      WHERE g.role_name = r.rolname AND g.expires_at > now());
$$;

REVOKE ALL ON FUNCTION wact_private.mint_session_role(name, uuid, text, timestamptz, text, text),
                       wact_private.end_session_role(name),
                       wact_private.stale_session_roles() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wact_private.mint_session_role(name, uuid, text, timestamptz, text, text),
                          wact_private.end_session_role(name),
                          wact_private.stale_session_roles() TO wact_broker;

-- Engineer sessions read every workspace-owned table (RLS limits the rows);
-- tables added by later migrations follow through default privileges.
GRANT SELECT ON ALL TABLES IN SCHEMA wact TO wact_engineer;
ALTER DEFAULT PRIVILEGES FOR ROLE wact_owner IN SCHEMA wact GRANT SELECT ON TABLES TO wact_engineer;
