-- Gateway transcripts (issue 17): the statement records of one gateway
-- connection, chained on their own and anchored into the workspace's audit
-- stream when the connection ends.
--
-- Why: every statement record used to be one event of the workspace stream,
-- written through audit.append_series under the stream's head lock. All
-- connections of a workspace serialised on that row through each WAL flush,
-- and each record cost PostgreSQL ~300 µs in the general event table (many
-- CHECKs and indexes). Here a connection's records form their own hash chain,
-- computed by the gateway, in a lean table with one index; the gateway writes
-- the pending records of all its connections in one statement and one durable
-- commit (group commit). No row lock is shared between connections.
--
-- The chain (shared/audit/transcript-chain.ts, docs/audit-export.md):
--   genesis = SHA-256("wact.transcript.v1|" f(transcriptId) f(streamId) f(sessionId))
--   hash(n) = SHA-256(hash(n-1) || "wact.transcript.v1|" f(transcriptId) f(seq) f(occurredAt) f(outcome) f(metadata))
-- The workspace stream names the transcript when the connection opens
-- (db.session.connect, metadata.transcript) and anchors its final seq and
-- hash when it ends (db.session.disconnect, metadata.transcript /
-- transcriptRecords / transcriptHash): a record altered, removed, added or
-- moved to another transcript breaks the chain or the anchor, and the anchor
-- itself is covered by the signed heads of the workspace stream.

CREATE TABLE audit.transcripts (
  transcript_id uuid        PRIMARY KEY,
  -- The workspace stream it is anchored into; the wipe's erasure of the
  -- workspace row removes it (and, by trigger, its records).
  stream_id     uuid        NOT NULL REFERENCES wact.workspaces (id) ON DELETE CASCADE,
  session_id    text        NOT NULL CHECK (length(session_id) BETWEEN 1 AND 200),
  -- Who and why, as in the db.session.connect event that names this
  -- transcript (the verifiers compare them): common to every record.
  actor_kind    text        NOT NULL,
  actor_id      text        NOT NULL,
  actor_role    text,
  actor_name    text,
  reason        text,
  client_ip     text,
  opened_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX transcripts_session ON audit.transcripts (session_id);
CREATE INDEX transcripts_stream ON audit.transcripts (stream_id, opened_at);

-- Lean on purpose: the primary key is the only index; metadata is the
-- canonical JSON text the gateway validated and hashed (same checks as the
-- event path, audit-validation.ts), so the database only bounds it.
CREATE TABLE audit.transcript_records (
  transcript_id uuid        NOT NULL,
  seq           integer     NOT NULL CHECK (seq >= 1),
  stream_id     uuid        NOT NULL,
  occurred_at   timestamptz NOT NULL,
  outcome       text        NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
  metadata      text        NOT NULL CHECK (length(metadata) <= 2400000),
  prev_hash     bytea       NOT NULL CHECK (length(prev_hash) = 32),
  hash          bytea       NOT NULL CHECK (length(hash) = 32),
  PRIMARY KEY (transcript_id, seq)
);

-- audit.append_transcript(new transcripts…, records…): one durable statement
-- for every connection's pending records. Durable on return: it forces a
-- synchronous commit of the caller's transaction (an autocommit statement is
-- the intended use). A transcript is inserted with the batch that carries its
-- first record. The chain is the gateway's: the database keeps (id, seq)
-- unique, so a transcript cannot fork, and the verifiers check the links.
CREATE FUNCTION audit.append_transcript(
  p_new_ids uuid[], p_new_streams uuid[], p_new_sessions text[], p_new_headers text[],
  p_ids uuid[], p_streams uuid[], p_seqs integer[], p_ts timestamptz[], p_outcomes text[], p_metadata text[],
  p_prev bytea[], p_hash bytea[])
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
DECLARE
  v_n integer := cardinality(p_ids);
BEGIN
  IF v_n IS NULL OR v_n NOT BETWEEN 1 AND 10000
     OR cardinality(p_streams) IS DISTINCT FROM v_n OR cardinality(p_seqs) IS DISTINCT FROM v_n
     OR cardinality(p_ts) IS DISTINCT FROM v_n OR cardinality(p_outcomes) IS DISTINCT FROM v_n
     OR cardinality(p_metadata) IS DISTINCT FROM v_n OR cardinality(p_prev) IS DISTINCT FROM v_n
     OR cardinality(p_hash) IS DISTINCT FROM v_n
     OR coalesce(cardinality(p_new_ids), 0) IS DISTINCT FROM coalesce(cardinality(p_new_streams), 0)
     OR coalesce(cardinality(p_new_ids), 0) IS DISTINCT FROM coalesce(cardinality(p_new_sessions), 0)
     OR coalesce(cardinality(p_new_ids), 0) * 6 IS DISTINCT FROM coalesce(cardinality(p_new_headers), 0) THEN
    RAISE EXCEPTION 'audit.append_transcript expects 1 to 10000 records and matching arrays' USING ERRCODE = '22023';
  END IF;
  PERFORM set_config('synchronous_commit', 'on', true);
  IF coalesce(cardinality(p_new_ids), 0) > 0 THEN
    -- p_new_headers: 6 per transcript (actor kind, id, role, name, reason, client ip), flattened.
    INSERT INTO audit.transcripts (transcript_id, stream_id, session_id, actor_kind, actor_id, actor_role, actor_name, reason, client_ip)
    SELECT u.id, u.stream, u.session, p_new_headers[u.i * 6 - 5], p_new_headers[u.i * 6 - 4], p_new_headers[u.i * 6 - 3],
           p_new_headers[u.i * 6 - 2], p_new_headers[u.i * 6 - 1], p_new_headers[u.i * 6]
      FROM unnest(p_new_ids, p_new_streams, p_new_sessions) WITH ORDINALITY AS u (id, stream, session, i);
  END IF;
  INSERT INTO audit.transcript_records (transcript_id, stream_id, seq, occurred_at, outcome, metadata, prev_hash, hash)
  SELECT * FROM unnest(p_ids, p_streams, p_seqs, p_ts, p_outcomes, p_metadata, p_prev, p_hash);
  RETURN v_n;
END $$;
REVOKE ALL ON FUNCTION audit.append_transcript(uuid[], uuid[], text[], text[], uuid[], uuid[], integer[], timestamptz[], text[], text[], bytea[], bytea[]) FROM PUBLIC;
-- The gateway runs as wact_broker; ingest writes no transcripts.
GRANT EXECUTE ON FUNCTION audit.append_transcript(uuid[], uuid[], text[], text[], uuid[], uuid[], integer[], timestamptz[], text[], text[], bytea[], bytea[]) TO wact_broker;

-- Reads: the broker's WAct access view and the export. Nobody writes the
-- tables directly, nobody updates or deletes (below).
REVOKE ALL ON audit.transcripts, audit.transcript_records FROM PUBLIC;
GRANT SELECT ON audit.transcripts, audit.transcript_records TO wact_broker;

-- History no service credential can rewrite: like audit.events (0330), a
-- row leaves only inside the wipe's erasure (wact_private.erasing) or under a
-- database superuser (whom nothing inside the database binds; tests simulate
-- that attacker, and the anchors under signed heads are the answer to it).
-- An UPDATE is refused the same way: a record is never rewritten.
CREATE FUNCTION wact_private.refuse_transcript_change() RETURNS trigger
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
REVOKE ALL ON FUNCTION wact_private.refuse_transcript_change() FROM PUBLIC;
CREATE TRIGGER transcript_guard BEFORE UPDATE OR DELETE ON audit.transcripts
  FOR EACH ROW EXECUTE FUNCTION wact_private.refuse_transcript_change();
CREATE TRIGGER transcript_guard BEFORE UPDATE OR DELETE ON audit.transcript_records
  FOR EACH ROW EXECUTE FUNCTION wact_private.refuse_transcript_change();
-- TRUNCATE fires no row trigger: refuse it by statement trigger too.
CREATE FUNCTION wact_private.refuse_transcript_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'audit.% is never truncated', TG_TABLE_NAME USING ERRCODE = '42501';
END $$;
REVOKE ALL ON FUNCTION wact_private.refuse_transcript_truncate() FROM PUBLIC;
CREATE TRIGGER transcript_truncate_guard BEFORE TRUNCATE ON audit.transcripts
  FOR EACH STATEMENT EXECUTE FUNCTION wact_private.refuse_transcript_truncate();
CREATE TRIGGER transcript_truncate_guard BEFORE TRUNCATE ON audit.transcript_records
  FOR EACH STATEMENT EXECUTE FUNCTION wact_private.refuse_transcript_truncate();

-- The wipe erases a workspace's transcripts with it: the erasure deletes the
-- workspace row, which cascades to audit.transcripts; each transcript takes
-- its records along (inside the same erasing transaction, so the guard above
-- lets them go).
CREATE FUNCTION wact_private.erase_transcript_records() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  DELETE FROM audit.transcript_records r WHERE r.transcript_id = OLD.transcript_id;
  RETURN OLD;
END $$;
REVOKE ALL ON FUNCTION wact_private.erase_transcript_records() FROM PUBLIC;
CREATE TRIGGER transcript_records_erase AFTER DELETE ON audit.transcripts
  FOR EACH ROW EXECUTE FUNCTION wact_private.erase_transcript_records();
