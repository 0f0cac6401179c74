-- databases: regional
-- Access broker (regional side): mints a per-session database role.
-- wact_broker never holds CREATEROLE: it may only EXECUTE this and the other
-- definer functions of the session life cycle, which are owned by wact_owner
-- and check every argument.
--
-- A session role: LOGIN, a SCRAM verifier computed by the broker (the clear
-- password never reaches the server, nor its statement log) or RDS IAM
-- authentication, VALID UNTIL the session's expiry, member of wact_support
-- (redacted) or wact_engineer (full), and a row in wact_private.session_grants
-- so row-level security shows it only the granted workspace until expiry.
-- The group membership is granted on its own statement (see member_opts).
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
REVOKE ALL ON FUNCTION wact_private.mint_session_role(name,uuid,text,timestamp with time zone,text,text) FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
GRANT EXECUTE ON FUNCTION wact_private.mint_session_role(name,uuid,text,timestamp with time zone,text,text) TO wact_broker;
