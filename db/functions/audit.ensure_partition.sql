-- databases: control, regional
-- Monthly partition for the month containing p_at (idempotent, race-tolerant).
CREATE OR REPLACE FUNCTION audit.ensure_partition(p_at timestamptz) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
DECLARE
  v_from timestamptz := date_trunc('month', p_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  v_name text := 'events_' || to_char(p_at AT TIME ZONE 'UTC', 'YYYY_MM');
BEGIN
  IF to_regclass('audit.' || v_name) IS NULL THEN
    BEGIN
      EXECUTE format('CREATE TABLE audit.%I PARTITION OF audit.events FOR VALUES FROM (%L) TO (%L)',
                     v_name, v_from, v_from + interval '1 month');
    EXCEPTION WHEN duplicate_table OR unique_violation THEN
      NULL; -- another appender created it first
    END;
  END IF;
  RETURN v_name;
END $$;
REVOKE ALL ON FUNCTION audit.ensure_partition(timestamp with time zone) FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
