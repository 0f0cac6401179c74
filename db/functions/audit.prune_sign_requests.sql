-- databases: control, regional
-- audit.sign_requests is a mailbox between the broker and the signing worker:
-- a caller waits at most 30 s for its answer, and what an answer signs is kept
-- where it belongs (signed heads, digests, the export carrying its manifest
-- signature). Answered requests older than a day go, so the mailbox does not
-- grow by every SIEM push and export forever; unanswered ones never (the
-- signer answers or expires them first). The signing worker calls it with its
-- periodic signing run; no other role may.
CREATE OR REPLACE FUNCTION audit.prune_sign_requests() RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
  WITH gone AS (DELETE FROM audit.sign_requests WHERE done_at < now() - interval '1 day' RETURNING 1)
  SELECT count(*) FROM gone;
$$;
REVOKE ALL ON FUNCTION audit.prune_sign_requests() FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
GRANT EXECUTE ON FUNCTION audit.prune_sign_requests() TO wact_signer;
