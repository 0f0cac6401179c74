-- databases: regional
-- History no service credential can rewrite: like audit.events (see
-- wact_private.refuse_history_delete), a row leaves only inside the wipe's
-- erasure (wact_private.erasing) or under a database superuser (whom nothing
-- inside the database binds; tests simulate that attacker, and the anchors
-- under signed heads are the answer to it).
-- An UPDATE is refused the same way: a record is never rewritten.
CREATE OR REPLACE FUNCTION wact_private.refuse_transcript_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  IF TG_OP = 'DELETE' AND wact_private.erasing(OLD.stream_id) THEN
    RETURN OLD;
  END IF;
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) THEN
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  RAISE EXCEPTION 'audit.% rows are never changed or removed (only the wipe flow erases a workspace''s transcripts)',
    TG_TABLE_NAME USING ERRCODE = '42501';
END $$;
REVOKE ALL ON FUNCTION wact_private.refuse_transcript_change() FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
