-- databases: regional
-- The partitions of a registered (or bench) table with their time bounds.
-- A DEFAULT partition has no bounds and is never dropped.
CREATE OR REPLACE FUNCTION wact_private.time_partitions(parent regclass)
RETURNS TABLE (partition regclass, lower_bound timestamptz, upper_bound timestamptz)
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT c.oid::regclass,
         (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\)'))[1]::timestamptz,
         (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
   WHERE i.inhparent = parent
     AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
   ORDER BY 2;
$$;
REVOKE ALL ON FUNCTION wact_private.time_partitions(regclass) FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
GRANT EXECUTE ON FUNCTION wact_private.time_partitions(regclass) TO wact_broker;
