-- Session roles are cluster-wide; the databases that minted them may be gone
-- (a test or development database dropped). Such a role has settings in no
-- database at all (every minted role has them in its own), so the sweeper may
-- end it too. Roles of another live database on the same server are left alone.
CREATE OR REPLACE FUNCTION wact_private.stale_session_roles()
RETURNS SETOF name
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, wact_private AS $$
  SELECT r.rolname FROM pg_roles r
   WHERE r.rolname ~ '^wact_sess_[0-9a-f]{32}$'
     AND (
       (EXISTS (SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
                 WHERE s.setrole = r.oid AND d.datname = current_database())
        AND NOT EXISTS (SELECT 1 FROM wact_private.session_grants g
                         WHERE g.role_name = r.rolname AND g.expires_at > now()))
       OR NOT EXISTS (SELECT 1 FROM pg_db_role_setting s WHERE s.setrole = r.oid)
     );
$$;
