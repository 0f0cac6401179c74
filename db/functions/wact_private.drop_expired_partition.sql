-- databases: regional
-- Drops one partition of a registered retention table, only if it lies wholly
-- before `cutoff`. Runs as the owner (only owners may drop tables); the guard
-- means the broker role cannot drop anything else through it. The caller
-- counts the partition's rows through the parent first (as itself: the
-- owner would see none under forced row-level security).
CREATE OR REPLACE FUNCTION wact_private.drop_expired_partition(parent regclass, part regclass, cutoff timestamptz)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM wact_private.retention_tables t WHERE t.table_name = parent::text) THEN
    RAISE EXCEPTION 'table % is not registered for retention', parent USING ERRCODE = '42501';
  END IF;
  IF cutoff > now() THEN
    RAISE EXCEPTION 'retention cutoff lies in the future' USING ERRCODE = '22023';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM wact_private.time_partitions(parent) tp WHERE tp.partition = part AND tp.upper_bound <= cutoff) THEN
    RETURN false;
  END IF;
  EXECUTE format('DROP TABLE %s', part);
  RETURN true;
END $$;
REVOKE ALL ON FUNCTION wact_private.drop_expired_partition(regclass,regclass,timestamp with time zone) FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
GRANT EXECUTE ON FUNCTION wact_private.drop_expired_partition(regclass,regclass,timestamp with time zone) TO wact_broker;
