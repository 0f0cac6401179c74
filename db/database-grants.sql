-- Per-database privileges, run by `wact migrate` as the operator for each
-- database. :'dbname' is substituted by the migrator (quoted identifier).
REVOKE ALL ON DATABASE :dbname FROM PUBLIC;
GRANT CONNECT, CREATE, TEMPORARY ON DATABASE :dbname TO wact_owner;
GRANT CONNECT ON DATABASE :dbname TO wact_ingest, wact_broker;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
