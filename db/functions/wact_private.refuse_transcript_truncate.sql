-- databases: regional
-- TRUNCATE fires no row trigger: refuse it by statement trigger too.
CREATE OR REPLACE FUNCTION wact_private.refuse_transcript_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'audit.% is never truncated', TG_TABLE_NAME USING ERRCODE = '42501';
END $$;
REVOKE ALL ON FUNCTION wact_private.refuse_transcript_truncate() FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
