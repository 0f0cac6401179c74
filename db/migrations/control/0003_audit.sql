-- Audit log: append-only, hash-chained, partitioned by month.
-- Regional databases hold one stream per workspace (stream_id = workspace id);
-- the control database holds the platform stream (stream_id = nil uuid).
-- This file and control/0003_audit.sql are identical on purpose.
--
-- Why no row-level security here: the audit schema is granted to the service
-- roles only (never to session roles), and services see every workspace anyway;
-- a per-row policy would only cost time on every export and search.
-- Why no foreign key to wact.workspaces: a workspace's audit stream must
-- outlive the workspace (wipe is itself an audited event) until retention.

CREATE SCHEMA audit;
REVOKE ALL ON SCHEMA audit FROM PUBLIC;
GRANT USAGE ON SCHEMA audit TO wact_ingest, wact_broker;

-- One row per event. Text columns are exactly the strings hashed by the
-- canonical form (see README, section audit): '' is never stored, absent is NULL.
CREATE TABLE audit.events (
  stream_id    uuid        NOT NULL,
  seq          bigint      NOT NULL CHECK (seq > 0),
  id           uuid        NOT NULL,
  occurred_at  timestamptz NOT NULL,
  action       text        NOT NULL CHECK (action ~ '^[a-z][a-z0-9_]{0,39}(\.[a-z][a-z0-9_]{0,39}){1,4}$'),
  actor_kind   text        NOT NULL CHECK (actor_kind IN ('employee', 'customer', 'service', 'operator', 'anonymous')),
  actor_id     text        NOT NULL CHECK (length(actor_id) BETWEEN 1 AND 200),
  actor_role   text        CHECK (length(actor_role) BETWEEN 1 AND 64),
  actor_name   text        CHECK (length(actor_name) BETWEEN 1 AND 200),
  target_type  text        CHECK (target_type ~ '^[a-z][a-z0-9_.]{0,63}$'),
  target_id    text        CHECK (length(target_id) BETWEEN 1 AND 200),
  reason       text        CHECK (length(reason) BETWEEN 1 AND 1000),
  session_id   text        CHECK (length(session_id) BETWEEN 1 AND 200),
  client_ip    text        CHECK (length(client_ip) BETWEEN 1 AND 64),
  user_agent   text        CHECK (length(user_agent) BETWEEN 1 AND 512),
  outcome      text        NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
  metadata     text        NOT NULL CHECK (length(metadata) BETWEEN 2 AND 4096 AND left(metadata, 1) = '{'),
  prev_hash    bytea       NOT NULL CHECK (length(prev_hash) = 32),
  hash         bytea       NOT NULL CHECK (length(hash) = 32),
  PRIMARY KEY (stream_id, seq, occurred_at)
) PARTITION BY RANGE (occurred_at);

-- Search paths (keyset pagination on seq, newest first).
CREATE INDEX events_action_idx ON audit.events (stream_id, action, seq);
CREATE INDEX events_actor_idx  ON audit.events (stream_id, actor_id, seq);
CREATE INDEX events_target_idx ON audit.events (stream_id, target_type, target_id, seq);

-- The head of each stream; its row lock serialises appends per stream.
CREATE TABLE audit.chain_heads (
  stream_id  uuid        PRIMARY KEY,
  seq        bigint      NOT NULL,
  hash       bytea       NOT NULL CHECK (length(hash) = 32),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Ed25519 keys that sign chain heads; the private half only wrapped by the KEK.
CREATE TABLE audit.signing_keys (
  key_id          text        PRIMARY KEY CHECK (key_id ~ '^[a-z0-9-]{4,64}$'),
  public_key      bytea       NOT NULL CHECK (length(public_key) = 32),
  wrapped_private bytea       NOT NULL,
  kek_id          text        NOT NULL,
  provider        text        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  retired_at      timestamptz
);
-- At most one active key: two processes creating one at once, one wins.
CREATE UNIQUE INDEX signing_keys_one_active ON audit.signing_keys ((true)) WHERE retired_at IS NULL;

-- Signed chain heads (hourly, at each export, before retention drops a month).
CREATE TABLE audit.signed_heads (
  stream_id  uuid        NOT NULL,
  seq        bigint      NOT NULL CHECK (seq >= 0),
  hash       bytea       NOT NULL CHECK (length(hash) = 32),
  signed_at  timestamptz NOT NULL,
  key_id     text        NOT NULL REFERENCES audit.signing_keys (key_id),
  purpose    text        NOT NULL CHECK (purpose IN ('periodic', 'export', 'retention', 'checkpoint')),
  signature  bytea       NOT NULL CHECK (length(signature) = 64),
  PRIMARY KEY (stream_id, seq, key_id, signed_at)
);

-- Monthly partition for the month containing p_at (idempotent, race-tolerant).
CREATE FUNCTION audit.ensure_partition(p_at timestamptz) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
DECLARE
  v_from timestamptz := date_trunc('month', p_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  v_name text := 'events_' || to_char(p_at AT TIME ZONE 'UTC', 'YYYY_MM');
BEGIN
  IF to_regclass('audit.' || v_name) IS NULL THEN
    BEGIN
      EXECUTE format('CREATE TABLE audit.%I PARTITION OF audit.events FOR VALUES FROM (%L) TO (%L)',
                     v_name, v_from, v_from + interval '1 month');
    EXCEPTION WHEN duplicate_table OR unique_violation THEN
      NULL; -- another appender created it first
    END;
  END IF;
  RETURN v_name;
END $$;
REVOKE ALL ON FUNCTION audit.ensure_partition(timestamptz) FROM PUBLIC;

SELECT audit.ensure_partition(now());
SELECT audit.ensure_partition(now() + interval '1 month');

-- Reads that employees and services must justify (also enforced in the service).
CREATE FUNCTION audit.is_read_action(p_action text) RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
  SELECT p_action ~ '^data\.' OR p_action = 'db.query'
      OR p_action ~ '\.(read|list|show|search|export|download|unmask|browse)$';
$$;

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
CREATE FUNCTION audit.append_at(p_events jsonb, p_at timestamptz) RETURNS bigint
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
REVOKE ALL ON FUNCTION audit.append_at(jsonb, timestamptz) FROM PUBLIC;

-- The only way in for application roles: one event (object) or a batch (array).
CREATE FUNCTION audit.append(p_events jsonb) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
  SELECT audit.append_at(p_events, NULL);
$$;
REVOKE ALL ON FUNCTION audit.append(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.append(jsonb) TO wact_ingest, wact_broker;

-- Retention: drop one whole month, only if it is older than the retention
-- period (never less than 12 months) and every stream's last event in it is
-- anchored by a signed head, so the first remaining event still verifies.
CREATE FUNCTION audit.drop_partition(p_name text, p_keep_months integer) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
DECLARE
  v_upper timestamptz;
  v_rows bigint;
  v_unanchored uuid;
BEGIN
  IF p_keep_months IS NULL OR p_keep_months < 12 THEN
    RAISE EXCEPTION 'audit retention is at least 12 months' USING ERRCODE = '22023';
  END IF;
  IF p_name !~ '^events_\d{4}_\d{2}$' OR NOT EXISTS (
       SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'audit.events'::regclass AND c.relname = p_name) THEN
    RAISE EXCEPTION 'not an audit partition: %', p_name USING ERRCODE = '22023';
  END IF;
  v_upper := (to_date(substr(p_name, 8), 'YYYY_MM')::timestamp AT TIME ZONE 'UTC') + interval '1 month';
  IF v_upper > (date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') - make_interval(months => p_keep_months) THEN
    RAISE EXCEPTION 'audit partition % is within the retention period', p_name USING ERRCODE = '22023';
  END IF;
  EXECUTE format(
    'SELECT p.stream_id FROM (SELECT stream_id, max(seq) AS seq FROM audit.%I GROUP BY stream_id) p
      WHERE NOT EXISTS (SELECT 1 FROM audit.signed_heads h
                         WHERE h.stream_id = p.stream_id AND h.seq = p.seq
                           AND h.hash = (SELECT e.hash FROM audit.%I e WHERE e.stream_id = p.stream_id AND e.seq = p.seq))
      LIMIT 1', p_name, p_name) INTO v_unanchored;
  IF v_unanchored IS NOT NULL THEN
    RAISE EXCEPTION 'audit partition % has a stream whose last event is not anchored by a signed head', p_name USING ERRCODE = '55000';
  END IF;
  EXECUTE format('SELECT count(*) FROM audit.%I', p_name) INTO v_rows;
  EXECUTE format('DROP TABLE audit.%I', p_name);
  RETURN v_rows;
END $$;
REVOKE ALL ON FUNCTION audit.drop_partition(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.drop_partition(text, integer) TO wact_broker;

-- The broker reads (search, export, signing) and records signatures; nothing
-- is ever granted UPDATE, DELETE or TRUNCATE.
GRANT SELECT ON audit.events, audit.chain_heads, audit.signed_heads, audit.signing_keys TO wact_broker;
GRANT INSERT ON audit.signed_heads, audit.signing_keys TO wact_broker;
-- Partitions created later inherit nothing: reads go through audit.events.
