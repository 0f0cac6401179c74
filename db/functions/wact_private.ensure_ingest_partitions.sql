-- databases: regional
-- Partitions. Daily for raw payloads (90-day retention drops one a day),
-- monthly for the rest. Creates what is missing for [p_from, p_from + p_days],
-- RLS on each partition too (direct access to a partition needs a grant
-- nobody has, but the RLS check test lists every table with workspace_id).
-- Definer: the service calls it ahead of time (ingest at start-up, the worker
-- hourly). Callers are serialised by a transaction advisory lock: several
-- ingests starting at once would otherwise deadlock creating the same
-- partitions (each ATTACH locks the parent).
CREATE OR REPLACE FUNCTION wact_private.ensure_ingest_partitions(p_from date DEFAULT current_date, p_days integer DEFAULT 14)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, wact, wact_private AS $$
DECLARE
  d date;
  m date;
  part text;
  created integer := 0;
  parent text;
BEGIN
  IF p_days < 0 OR p_days > 400 THEN
    RAISE EXCEPTION 'p_days out of range';
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended('wact_private.ensure_ingest_partitions', 0));
  FOR d IN SELECT generate_series(p_from, p_from + p_days, interval '1 day')::date LOOP
    part := 'raw_webhook_payloads_p' || to_char(d, 'YYYYMMDD');
    IF to_regclass('wact.' || part) IS NULL THEN
      EXECUTE format('CREATE TABLE wact.%I PARTITION OF wact.raw_webhook_payloads FOR VALUES FROM (%L) TO (%L)',
                     part, d::timestamptz, (d + 1)::timestamptz);
      CALL wact_private.enable_workspace_rls(('wact.' || quote_ident(part))::regclass);
      created := created + 1;
    END IF;
  END LOOP;
  FOR m IN SELECT DISTINCT date_trunc('month', g)::date
             FROM generate_series(p_from, p_from + p_days, interval '1 day') g LOOP
    FOREACH parent IN ARRAY ARRAY['clicks', 'conversations', 'conversions'] LOOP
      part := parent || '_p' || to_char(m, 'YYYYMM');
      IF to_regclass('wact.' || part) IS NULL THEN
        EXECUTE format('CREATE TABLE wact.%I PARTITION OF wact.%I FOR VALUES FROM (%L) TO (%L)',
                       part, parent, m::timestamptz, (m + interval '1 month')::date::timestamptz);
        CALL wact_private.enable_workspace_rls(('wact.' || quote_ident(part))::regclass);
        created := created + 1;
      END IF;
    END LOOP;
  END LOOP;
  RETURN created;
END $$;
REVOKE ALL ON FUNCTION wact_private.ensure_ingest_partitions(date,integer) FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
GRANT EXECUTE ON FUNCTION wact_private.ensure_ingest_partitions(date,integer) TO wact_broker, wact_ingest;
