-- databases: control, regional
-- The audit retention rule in one place: what is older than the returned
-- instant (the start of the month `p_keep_months` before this one, UTC) may
-- go; a period under 12 months is refused. audit.drop_partition and
-- audit.drop_expired_transcripts both apply it.
CREATE OR REPLACE FUNCTION audit.retention_cutoff(p_keep_months integer) RETURNS timestamptz
LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
BEGIN
  IF p_keep_months IS NULL OR p_keep_months < 12 THEN
    RAISE EXCEPTION 'audit retention is at least 12 months' USING ERRCODE = '22023';
  END IF;
  RETURN (date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') - make_interval(months => p_keep_months);
END $$;
REVOKE ALL ON FUNCTION audit.retention_cutoff(integer) FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
