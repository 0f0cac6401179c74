-- databases: regional
-- A transcript erased with its workspace takes its records along (see
-- wact_private.erase_transcript_records).
CREATE OR REPLACE TRIGGER transcript_records_erase AFTER DELETE ON audit.transcripts
  FOR EACH ROW EXECUTE FUNCTION wact_private.erase_transcript_records();
