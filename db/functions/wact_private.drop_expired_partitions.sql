-- databases: regional
-- Retention drops all expired partitions of a table in one transaction (one
-- commit instead of one per day). Same guard as drop_expired_partition
-- (registered table, past cutoff, each partition a child of it lying wholly
-- before the cutoff), for many at once.
CREATE OR REPLACE FUNCTION wact_private.drop_expired_partitions(parent regclass, parts regclass[], cutoff timestamptz)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
  p regclass;
  upper_bound timestamptz;
  n integer := 0;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM wact_private.retention_tables t WHERE t.table_name = parent::text) THEN
    RAISE EXCEPTION 'table % is not registered for retention', parent USING ERRCODE = '42501';
  END IF;
  IF cutoff > now() THEN
    RAISE EXCEPTION 'retention cutoff lies in the future' USING ERRCODE = '22023';
  END IF;
  FOREACH p IN ARRAY parts LOOP
    upper_bound := wact_private.partition_upper_bound(parent, p);
    IF upper_bound IS NULL OR upper_bound > cutoff THEN
      RAISE EXCEPTION 'partition % of % does not lie wholly before the cutoff', p, parent USING ERRCODE = '42501';
    END IF;
    EXECUTE format('DROP TABLE %s', p);
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;
REVOKE ALL ON FUNCTION wact_private.drop_expired_partitions(regclass,regclass[],timestamp with time zone) FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
GRANT EXECUTE ON FUNCTION wact_private.drop_expired_partitions(regclass,regclass[],timestamp with time zone) TO wact_broker;
