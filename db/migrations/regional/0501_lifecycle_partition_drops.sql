-- Retention drops all expired partitions of a table in one transaction (one
-- commit instead of one per day), and checks each partition's own bound
-- instead of listing every partition of the parent per drop.

CREATE OR REPLACE FUNCTION wact_private.partition_upper_bound(parent regclass, part regclass)
RETURNS timestamptz
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
   WHERE i.inhparent = parent AND i.inhrelid = part;
$$;
REVOKE ALL ON FUNCTION wact_private.partition_upper_bound(regclass, regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wact_private.partition_upper_bound(regclass, regclass) TO wact_broker;

-- Same guard as drop_expired_partition (registered table, past cutoff, each
-- partition a child of it lying wholly before the cutoff), for many at once.
CREATE FUNCTION wact_private.drop_expired_partitions(parent regclass, parts regclass[], cutoff timestamptz)
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
REVOKE ALL ON FUNCTION wact_private.drop_expired_partitions(regclass, regclass[], timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wact_private.drop_expired_partitions(regclass, regclass[], timestamptz) TO wact_broker;
