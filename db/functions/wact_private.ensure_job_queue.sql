-- databases: regional
-- pg-boss 10 keeps each queue in its own partition of pgboss.job, created by
-- pgboss.create_queue (DDL). Services create queues through this definer
-- wrapper instead, so they need no CREATE right on the schema. Callers are
-- serialised (transaction advisory lock): workers starting together would
-- otherwise deadlock attaching partitions to pgboss.job; an existing queue
-- returns at once without DDL.
CREATE OR REPLACE FUNCTION wact_private.ensure_job_queue(queue_name text, options json)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pgboss AS $$
BEGIN
  IF queue_name !~ '^[a-z][a-z0-9_.-]{1,60}$' THEN
    RAISE EXCEPTION 'invalid queue name';
  END IF;
  IF EXISTS (SELECT 1 FROM pgboss.queue WHERE name = queue_name) THEN
    RETURN;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended('wact_private.ensure_job_queue', 0));
  PERFORM pgboss.create_queue(queue_name, options);
END $$;
REVOKE ALL ON FUNCTION wact_private.ensure_job_queue(text,json) FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
GRANT EXECUTE ON FUNCTION wact_private.ensure_job_queue(text,json) TO wact_broker, wact_ingest;
