-- databases: control, regional
-- The cheap path for many events that differ only in time, client address,
-- outcome and metadata (the gateway's per-statement records). audit.append is
-- general (any mix of streams, JSON in) and costs about 1 ms per call; this
-- writes the same rows, chained and hashed by the same canonical form (see
-- audit.append_at), in one statement with no JSON. Only the time is per event
-- from the server clock.
--
-- audit.append_series(stream, common, client_ips, outcomes, metadata)
--    common = {action, actor_kind, actor_id, actor_role, actor_name,
--              target_type, target_id, reason, session_id, user_agent}
--    (NULL elements are absent fields); the three arrays are per event.
--    Durable on return: it forces a synchronous commit of the caller's
--    transaction (one autocommit statement is the intended use), and waits
--    for the stream's head at most 10 s so callers fail closed, not hang.
CREATE OR REPLACE FUNCTION audit.append_series(p_stream uuid, p_common text[], p_ips text[], p_outcomes text[], p_metadata text[])
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
DECLARE
  v_n      integer := cardinality(p_metadata);
  v_seq    bigint;
  v_hash   bytea;
  v_fixed  text := '';
  v_ts     timestamptz;
  v_tstext text;
  v_id     uuid;
  f        text;
  a_seq bigint[]; a_id uuid[]; a_ts timestamptz[]; a_prev bytea[]; a_hash bytea[];
BEGIN
  IF p_stream IS NULL OR cardinality(p_common) IS DISTINCT FROM 10 OR v_n IS NULL OR v_n NOT BETWEEN 1 AND 10000
     OR cardinality(p_ips) IS DISTINCT FROM v_n OR cardinality(p_outcomes) IS DISTINCT FROM v_n THEN
    RAISE EXCEPTION 'audit.append_series expects a stream, 10 common fields and 1 to 10000 events' USING ERRCODE = '22023';
  END IF;
  IF p_common[2] IN ('employee', 'service') AND coalesce(p_common[8], '') = '' AND audit.is_read_action(p_common[1]) THEN
    RAISE EXCEPTION 'an audit event for a read by an employee or service needs a reason' USING ERRCODE = '23514';
  END IF;
  PERFORM set_config('synchronous_commit', 'on', true);
  PERFORM set_config('lock_timeout', '10s', true);

  -- The head, locked until commit (serialises this stream with audit.append).
  UPDATE audit.chain_heads SET updated_at = now() WHERE stream_id = p_stream RETURNING seq, hash INTO v_seq, v_hash;
  IF NOT FOUND THEN
    INSERT INTO audit.chain_heads (stream_id, seq, hash)
    VALUES (p_stream, 0, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
    ON CONFLICT (stream_id) DO UPDATE SET updated_at = now()
    RETURNING seq, hash INTO v_seq, v_hash;
  END IF;

  -- Canonical form as in audit.append_at: stream, id, time, then action ..
  -- session_id (common), client_ip (per event), user_agent (common),
  -- outcome and metadata (per event).
  FOREACH f IN ARRAY p_common[1:9] LOOP
    v_fixed := v_fixed || coalesce(octet_length(f)::text || ':' || f, '~');
  END LOOP;
  FOR i IN 1 .. v_n LOOP
    v_id := gen_random_uuid();
    v_ts := clock_timestamp();
    v_tstext := to_char(v_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
    a_prev[i] := v_hash;
    v_hash := sha256(v_hash || convert_to('wact.audit.v1|'
      || octet_length(p_stream::text)::text || ':' || p_stream::text
      || octet_length(v_id::text)::text || ':' || v_id::text
      || octet_length(v_tstext)::text || ':' || v_tstext
      || v_fixed
      || coalesce(octet_length(p_ips[i])::text || ':' || p_ips[i], '~')
      || coalesce(octet_length(p_common[10])::text || ':' || p_common[10], '~')
      || coalesce(octet_length(p_outcomes[i])::text || ':' || p_outcomes[i], '~')
      || octet_length(p_metadata[i])::text || ':' || p_metadata[i], 'UTF8'));
    v_seq := v_seq + 1;
    a_seq[i] := v_seq;
    a_id[i] := v_id;
    a_ts[i] := v_ts;
    a_hash[i] := v_hash;
  END LOOP;

  PERFORM audit.ensure_partition(a_ts[1]);
  IF date_trunc('month', a_ts[v_n] AT TIME ZONE 'UTC') <> date_trunc('month', a_ts[1] AT TIME ZONE 'UTC') THEN
    PERFORM audit.ensure_partition(a_ts[v_n]);
  END IF;
  UPDATE audit.chain_heads SET seq = v_seq, hash = v_hash WHERE stream_id = p_stream;
  INSERT INTO audit.events (stream_id, seq, id, occurred_at, action, actor_kind, actor_id, actor_role, actor_name,
                            target_type, target_id, reason, session_id, client_ip, user_agent, outcome, metadata,
                            prev_hash, hash)
  SELECT p_stream, u.seq, u.id, u.ts, p_common[1], p_common[2], p_common[3], p_common[4], p_common[5],
         p_common[6], p_common[7], p_common[8], p_common[9], u.ip, p_common[10], u.outcome, u.meta, u.prev, u.hash
    FROM unnest(a_seq, a_id, a_ts, p_ips, p_outcomes, p_metadata, a_prev, a_hash)
         AS u (seq, id, ts, ip, outcome, meta, prev, hash);
  RETURN v_n;
END $$;
REVOKE ALL ON FUNCTION audit.append_series(uuid,text[],text[],text[],text[]) FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
GRANT EXECUTE ON FUNCTION audit.append_series(uuid,text[],text[],text[],text[]) TO wact_broker, wact_ingest;
