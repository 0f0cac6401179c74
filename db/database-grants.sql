-- Per-database privileges, run by `wact migrate` as the operator for each
-- database. :'dbname' is substituted by the migrator (quoted identifier).
REVOKE ALL ON DATABASE :dbname FROM PUBLIC;
GRANT CONNECT, CREATE, TEMPORARY ON DATABASE :dbname TO wact_owner;
GRANT CONNECT ON DATABASE :dbname TO wact_ingest, wact_broker, wact_signer;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
-- Large objects outlive the session that made them and block DROP ROLE of
-- their owner (issue 12): only superusers may create them. Only the
-- functions' owner (a superuser) can revoke this; elsewhere (e.g. RDS) the
-- broker's cleanup drops what a session owns instead (regional 0410).
DO $$
BEGIN
  REVOKE EXECUTE ON FUNCTION pg_catalog.lo_create(oid), pg_catalog.lo_creat(integer),
                             pg_catalog.lo_from_bytea(oid, bytea) FROM PUBLIC;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'large-object functions stay executable by PUBLIC here: %', SQLERRM;
END $$;
