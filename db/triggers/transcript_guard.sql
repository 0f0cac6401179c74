-- databases: regional
-- Transcript rows are never changed or removed, except by the wipe's erasure
-- (see wact_private.refuse_transcript_change); TRUNCATE fires no row
-- trigger, so a statement trigger refuses it too.
CREATE OR REPLACE TRIGGER transcript_guard BEFORE UPDATE OR DELETE ON audit.transcripts
  FOR EACH ROW EXECUTE FUNCTION wact_private.refuse_transcript_change();
CREATE OR REPLACE TRIGGER transcript_guard BEFORE UPDATE OR DELETE ON audit.transcript_records
  FOR EACH ROW EXECUTE FUNCTION wact_private.refuse_transcript_change();
CREATE OR REPLACE TRIGGER transcript_truncate_guard BEFORE TRUNCATE ON audit.transcripts
  FOR EACH STATEMENT EXECUTE FUNCTION wact_private.refuse_transcript_truncate();
CREATE OR REPLACE TRIGGER transcript_truncate_guard BEFORE TRUNCATE ON audit.transcript_records
  FOR EACH STATEMENT EXECUTE FUNCTION wact_private.refuse_transcript_truncate();
