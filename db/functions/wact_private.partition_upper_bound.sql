-- databases: regional
-- The upper time bound of one partition of `parent` (NULL if `part` is not
-- one of its partitions, or is its DEFAULT partition).
CREATE OR REPLACE FUNCTION wact_private.partition_upper_bound(parent regclass, part regclass)
RETURNS timestamptz
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
   WHERE i.inhparent = parent AND i.inhrelid = part;
$$;
REVOKE ALL ON FUNCTION wact_private.partition_upper_bound(regclass,regclass) FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
GRANT EXECUTE ON FUNCTION wact_private.partition_upper_bound(regclass,regclass) TO wact_broker;
