-- databases: regional
-- Session roles the broker's sweeper ends even if its own bookkeeping
-- (control database) lost track: roles of this database whose grant has
-- expired or vanished (a role is this database's if it has settings here, see
-- mint_session_role), and roles with settings in no database at all (session
-- roles are cluster-wide; the database that minted one may be gone, e.g. a
-- dropped test database). Roles of another live database are left alone.
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
REVOKE ALL ON FUNCTION wact_private.stale_session_roles() FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
GRANT EXECUTE ON FUNCTION wact_private.stale_session_roles() TO wact_broker;
