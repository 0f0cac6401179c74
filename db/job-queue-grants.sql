-- The services' rights on pg-boss's schema (installed by the migrator from
-- pg-boss's own plans, db/job-queue-schema.ts), re-applied after every
-- migrate as wact_owner: read and write its tables, nothing else. Queues are
-- created through the definer wact_private.ensure_job_queue (pg-boss 10 makes
-- one table partition per queue, which is DDL).
REVOKE ALL ON SCHEMA pgboss FROM PUBLIC;
GRANT USAGE ON SCHEMA pgboss TO wact_ingest, wact_broker;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pgboss TO wact_ingest, wact_broker;
-- Queue partitions created later (owned by wact_owner) get the same rights.
ALTER DEFAULT PRIVILEGES FOR ROLE wact_owner IN SCHEMA pgboss
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO wact_ingest, wact_broker;
-- pgboss.create_queue / delete_queue are DDL: only through the owner.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA pgboss FROM PUBLIC;
