-- databases: control, regional
-- Retention: drop one whole month, only if it is older than the retention
-- period (never less than 12 months) and every stream's last event in it is
-- anchored by a signed head, so the first remaining event still verifies.
CREATE OR REPLACE FUNCTION audit.drop_partition(p_name text, p_keep_months integer) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
DECLARE
  v_cutoff timestamptz;
  v_upper timestamptz;
  v_rows bigint;
  v_unanchored uuid;
BEGIN
  v_cutoff := audit.retention_cutoff(p_keep_months); -- refuses less than 12 months
  IF p_name !~ '^events_\d{4}_\d{2}$' OR NOT EXISTS (
       SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'audit.events'::regclass AND c.relname = p_name) THEN
    RAISE EXCEPTION 'not an audit partition: %', p_name USING ERRCODE = '22023';
  END IF;
  v_upper := (to_date(substr(p_name, 8), 'YYYY_MM')::timestamp AT TIME ZONE 'UTC') + interval '1 month';
  IF v_upper > v_cutoff THEN
    RAISE EXCEPTION 'audit partition % is within the retention period', p_name USING ERRCODE = '22023';
  END IF;
  EXECUTE format(
    'SELECT p.stream_id FROM (SELECT stream_id, max(seq) AS seq FROM audit.%I GROUP BY stream_id) p
      WHERE NOT EXISTS (SELECT 1 FROM audit.signed_heads h
                         WHERE h.stream_id = p.stream_id AND h.seq = p.seq
                           AND h.hash = (SELECT e.hash FROM audit.%I e WHERE e.stream_id = p.stream_id AND e.seq = p.seq))
      LIMIT 1', p_name, p_name) INTO v_unanchored;
  IF v_unanchored IS NOT NULL THEN
    RAISE EXCEPTION 'audit partition % has a stream whose last event is not anchored by a signed head', p_name USING ERRCODE = '55000';
  END IF;
  EXECUTE format('SELECT count(*) FROM audit.%I', p_name) INTO v_rows;
  -- DROP TABLE locks audit.events itself, and while it waits for a reader
  -- (an export, a signing) every append of every stream — the gateway's
  -- replies among them — queues behind it. Give up instead (55P03, for the
  -- rest of the transaction): retention runs again on its next schedule.
  PERFORM set_config('lock_timeout', '2s', true);
  EXECUTE format('DROP TABLE audit.%I', p_name);
  RETURN v_rows;
END $$;
REVOKE ALL ON FUNCTION audit.drop_partition(text,integer) FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
GRANT EXECUTE ON FUNCTION audit.drop_partition(text,integer) TO wact_broker;
