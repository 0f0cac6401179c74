-- databases: control, regional
-- Internal append. p_at NULL: the server clock per event (the only mode
-- services can reach, through audit.append). A fixed p_at is for operators
-- and tests (e.g. events in an old month for retention tests).
--
-- Canonical form (documented in README):
--   'wact.audit.v1|' || f(stream_id) || f(id) || f(occurred_at) || f(action) || f(actor_kind)
--   || f(actor_id) || f(actor_role) || f(actor_name) || f(target_type) || f(target_id)
--   || f(reason) || f(session_id) || f(client_ip) || f(user_agent) || f(outcome) || f(metadata)
--   f(NULL) = '~', f(x) = <UTF-8 byte length of x> || ':' || x
--   hash = sha256(prev_hash || utf8(canonical)); prev of the first event = 32 zero bytes
CREATE OR REPLACE FUNCTION audit.append_at(p_events jsonb, p_at timestamptz) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
DECLARE
  v_n       integer;
  v_stream  uuid := NULL;
  v_seq     bigint;
  v_hash    bytea;
  v_bad     boolean;
  k         integer := 0;
  h_stream  uuid[];
  h_seq     bigint[];
  h_hash    bytea[];
  -- Set-based where possible: one statement computes every event's time, id
  -- and canonical bytes; only the chaining itself is a loop (two statements
  -- per event); one INSERT writes the batch.
  a_stream uuid[]; a_seq bigint[]; a_id uuid[]; a_ts timestamptz[]; a_action text[]; a_kind text[];
  a_actor text[]; a_role text[]; a_name text[]; a_ttype text[]; a_tid text[]; a_reason text[];
  a_session text[]; a_ip text[]; a_ua text[]; a_outcome text[]; a_meta text[]; a_canon bytea[];
  a_prev bytea[]; a_hash bytea[];
BEGIN
  IF jsonb_typeof(p_events) = 'object' THEN
    p_events := jsonb_build_array(p_events);
  END IF;
  IF jsonb_typeof(p_events) IS DISTINCT FROM 'array' THEN
    RAISE EXCEPTION 'audit.append expects an event or an array of events' USING ERRCODE = '22023';
  END IF;
  v_n := jsonb_array_length(p_events);
  IF v_n NOT BETWEEN 1 AND 10000 THEN
    RAISE EXCEPTION 'audit.append expects 1 to 10000 events' USING ERRCODE = '22023';
  END IF;

  -- 1. Lock the heads first, in uuid order (so concurrent batches never
  --    deadlock), in one statement that also returns them; times are taken
  --    after, so seq order is time order.
  WITH h AS (
    INSERT INTO audit.chain_heads (stream_id, seq, hash)
    SELECT DISTINCT r."streamId", 0::bigint, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea
      FROM jsonb_to_recordset(p_events) AS r ("streamId" uuid) ORDER BY 1
    ON CONFLICT (stream_id) DO UPDATE SET updated_at = now()
    RETURNING stream_id, seq, hash)
  SELECT array_agg(stream_id ORDER BY stream_id), array_agg(seq ORDER BY stream_id), array_agg(hash ORDER BY stream_id)
    INTO h_stream, h_seq, h_hash FROM h;

  -- 2. Every event's server time, id and canonical form (see README):
  --    'wact.audit.v1|' then f(field) for each field, f(NULL) = '~', f(x) = byte length || ':' || x.
  SELECT array_agg(t.sid), array_agg(t.id), array_agg(t.ts),
         array_agg(t.action), array_agg(t.kind), array_agg(t.actor),
         array_agg(t.role), array_agg(t.name), array_agg(t.ttype),
         array_agg(t.tid), array_agg(t.reason), array_agg(t.session),
         array_agg(t.ip), array_agg(t.ua), array_agg(t.outcome),
         array_agg(t.meta),
         array_agg(convert_to('wact.audit.v1|'
           || octet_length(t.sid::text)::text || ':' || t.sid::text
           || octet_length(t.id::text)::text || ':' || t.id::text
           || octet_length(t.tstext)::text || ':' || t.tstext
           || coalesce(octet_length(t.action)::text || ':' || t.action, '~')
           || coalesce(octet_length(t.kind)::text || ':' || t.kind, '~')
           || coalesce(octet_length(t.actor)::text || ':' || t.actor, '~')
           || coalesce(octet_length(t.role)::text || ':' || t.role, '~')
           || coalesce(octet_length(t.name)::text || ':' || t.name, '~')
           || coalesce(octet_length(t.ttype)::text || ':' || t.ttype, '~')
           || coalesce(octet_length(t.tid)::text || ':' || t.tid, '~')
           || coalesce(octet_length(t.reason)::text || ':' || t.reason, '~')
           || coalesce(octet_length(t.session)::text || ':' || t.session, '~')
           || coalesce(octet_length(t.ip)::text || ':' || t.ip, '~')
           || coalesce(octet_length(t.ua)::text || ':' || t.ua, '~')
           || coalesce(octet_length(t.outcome)::text || ':' || t.outcome, '~')
           || octet_length(t.meta)::text || ':' || t.meta, 'UTF8')),
         bool_or(t.kind IN ('employee', 'service') AND coalesce(t.reason, '') = '' AND audit.is_read_action(t.action))
    INTO a_stream, a_id, a_ts, a_action, a_kind, a_actor, a_role, a_name, a_ttype, a_tid, a_reason, a_session,
         a_ip, a_ua, a_outcome, a_meta, a_canon, v_bad
    FROM (SELECT x."streamId" AS sid, x.ordinality AS ord, g.id, g.ts,
                 to_char(g.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS tstext,
                 x.action, x."actorKind" AS kind, x."actorId" AS actor, x."actorRole" AS role, x."actorName" AS name,
                 x."targetType" AS ttype, x."targetId" AS tid, x.reason, x."sessionId" AS session, x."clientIp" AS ip,
                 x."userAgent" AS ua, x.outcome, coalesce(x.metadata, '{}') AS meta
            FROM ROWS FROM (jsonb_to_recordset(p_events) AS (
                   "streamId" uuid, action text, "actorKind" text, "actorId" text, "actorRole" text, "actorName" text,
                   "targetType" text, "targetId" text, reason text, "sessionId" text, "clientIp" text, "userAgent" text,
                   outcome text, metadata text)) WITH ORDINALITY AS x
            CROSS JOIN LATERAL (SELECT gen_random_uuid() AS id,
                                       CASE WHEN p_at IS NULL THEN clock_timestamp()
                                            ELSE p_at + make_interval(secs => x.ordinality / 1000000.0) END AS ts) g
           ORDER BY x."streamId", x.ordinality) t; -- aggregated in this order (stream, then arrival)
  IF v_bad THEN
    RAISE EXCEPTION 'an audit event for a read by an employee or service needs a reason' USING ERRCODE = '23514';
  END IF;

  -- 3. The chain: each hash covers the previous one and the canonical bytes.
  --    Events are in stream order, heads too: k walks the heads alongside.
  FOR i IN 1 .. v_n LOOP
    IF a_stream[i] IS DISTINCT FROM v_stream THEN
      IF v_stream IS NOT NULL THEN
        h_seq[k] := v_seq;
        h_hash[k] := v_hash;
      END IF;
      k := k + 1;
      v_stream := a_stream[i];
      IF h_stream[k] IS DISTINCT FROM v_stream THEN
        RAISE EXCEPTION 'audit event without a valid streamId' USING ERRCODE = '22023';
      END IF;
      v_seq := h_seq[k];
      v_hash := h_hash[k];
    END IF;
    a_prev[i] := v_hash;
    v_hash := sha256(v_hash || a_canon[i]);
    a_hash[i] := v_hash;
    v_seq := v_seq + 1;
    a_seq[i] := v_seq;
  END LOOP;
  h_seq[k] := v_seq;
  h_hash[k] := v_hash;
  UPDATE audit.chain_heads c SET seq = u.seq, hash = u.hash, updated_at = now()
    FROM unnest(h_stream, h_seq, h_hash) AS u (sid, seq, hash) WHERE c.stream_id = u.sid;

  PERFORM audit.ensure_partition(m) FROM (SELECT DISTINCT date_trunc('month', u AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS m FROM unnest(a_ts) u) q;
  INSERT INTO audit.events (stream_id, seq, id, occurred_at, action, actor_kind, actor_id, actor_role, actor_name,
                            target_type, target_id, reason, session_id, client_ip, user_agent, outcome, metadata,
                            prev_hash, hash)
  SELECT * FROM unnest(a_stream, a_seq, a_id, a_ts, a_action, a_kind, a_actor, a_role, a_name, a_ttype, a_tid,
                       a_reason, a_session, a_ip, a_ua, a_outcome, a_meta, a_prev, a_hash);
  RETURN v_n;
END $$;
REVOKE ALL ON FUNCTION audit.append_at(jsonb,timestamp with time zone) FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
