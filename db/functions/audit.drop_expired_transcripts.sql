-- databases: regional
-- Retention for gateway transcripts (audit.transcripts and their records):
-- a transcript goes once the audit months that hold its anchors are gone.
-- A connection lives at most ACCESS_TTL_MAX (≤ 15 minutes) and its anchors
-- (db.session.connect, checkpoints, db.session.disconnect) are written while
-- it lives, so a transcript opened more than a day before the oldest month
-- still kept — and before the retention period — has no anchor left to name
-- it. The retention rule is audit.retention_cutoff's, as for audit.drop_partition. The deletion
-- marks its own transaction in wact_private.history_erasures for the streams
-- concerned (what transcript_guard admits) and clears the mark before it
-- returns, so the caller's transaction is never left able to delete.
CREATE OR REPLACE FUNCTION audit.drop_expired_transcripts(p_keep_months integer)
RETURNS TABLE (stream_id uuid, transcripts bigint, records bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
DECLARE
  v_cutoff timestamptz;
  v_oldest timestamptz;
BEGIN
  v_cutoff := audit.retention_cutoff(p_keep_months); -- refuses less than 12 months
  SELECT min(to_date(substr(c.relname, 8), 'YYYY_MM')::timestamp AT TIME ZONE 'UTC') INTO v_oldest
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
   WHERE i.inhparent = 'audit.events'::regclass AND c.relname ~ '^events_\d{4}_\d{2}$';
  v_cutoff := least(v_cutoff, coalesce(v_oldest, v_cutoff)) - interval '1 day';

  -- No temporary table here: a caller could create one of the same name first (and hang a trigger on it).
  INSERT INTO wact_private.history_erasures (ws)
  SELECT DISTINCT t.stream_id FROM audit.transcripts t WHERE t.opened_at < v_cutoff;
  -- Each transcript takes its records along (trigger transcript_records_erase).
  RETURN QUERY
    WITH doomed AS (
      SELECT t.transcript_id, t.stream_id,
             (SELECT count(*) FROM audit.transcript_records r WHERE r.transcript_id = t.transcript_id) AS n
        FROM audit.transcripts t WHERE t.opened_at < v_cutoff),
    gone AS (
      DELETE FROM audit.transcripts t USING doomed d WHERE t.transcript_id = d.transcript_id RETURNING d.stream_id, d.n)
    SELECT g.stream_id, count(*)::bigint, sum(g.n)::bigint FROM gone g GROUP BY g.stream_id ORDER BY 1;
  DELETE FROM wact_private.history_erasures h WHERE h.tx = txid_current();
END $$;
REVOKE ALL ON FUNCTION audit.drop_expired_transcripts(integer) FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
-- The audit retention job (worker, as wact_broker) calls it after dropping months.
GRANT EXECUTE ON FUNCTION audit.drop_expired_transcripts(integer) TO wact_broker;
