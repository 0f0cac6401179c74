-- databases: regional
-- The wipe erases a workspace's transcripts with it: the erasure deletes the
-- workspace row, which cascades to audit.transcripts; each transcript takes
-- its records along (trigger transcript_records_erase), inside the same
-- erasing transaction, so transcript_guard lets them go.
CREATE OR REPLACE FUNCTION wact_private.erase_transcript_records() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  DELETE FROM audit.transcript_records r WHERE r.transcript_id = OLD.transcript_id;
  RETURN OLD;
END $$;
REVOKE ALL ON FUNCTION wact_private.erase_transcript_records() FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
