-- Data lifecycle: retention settings, end-user deletion requests and their
-- propagation targets, and the machinery that drops expired time partitions.

-- Per-workspace retention. No row = the defaults (24 months attributed events,
-- 90 days raw payloads). The CHECKs are the ceiling: a workspace may shorten,
-- never lengthen (the service says so in words; the database makes it true).
CREATE TABLE wact.retention_settings (
  workspace_id uuid PRIMARY KEY REFERENCES wact.workspaces (id),
  events_days  integer NOT NULL CHECK (events_days BETWEEN 1 AND 730),
  raw_days     integer NOT NULL CHECK (raw_days BETWEEN 1 AND 90),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  updated_by   text NOT NULL CHECK (length(updated_by) BETWEEN 1 AND 200)
);
CALL wact_private.enable_workspace_rls('wact.retention_settings');
GRANT SELECT, INSERT, UPDATE ON wact.retention_settings TO wact_broker;
GRANT SELECT ON wact.retention_settings TO wact_engineer;

-- End-user deletion requests (GDPR art. 17 / CCPA). The subject is kept only
-- as keyed hashes (one per hashing-key version, so a number hashed under an
-- older key is found too) until the request completes; then the hashes are
-- cleared: the request must not itself become a record of the person.
CREATE TABLE wact.deletion_requests (
  id              uuid PRIMARY KEY,
  workspace_id    uuid NOT NULL REFERENCES wact.workspaces (id),
  subject_kind    text NOT NULL CHECK (subject_kind IN ('phone', 'conversation')),
  subject_hashes  text[] NOT NULL DEFAULT '{}' CHECK (array_position(subject_hashes, NULL) IS NULL),
  conversation_id uuid,
  status          text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'propagating', 'completed', 'overdue')),
  requested_by    text NOT NULL CHECK (length(requested_by) BETWEEN 1 AND 200),
  requested_at    timestamptz NOT NULL DEFAULT now(),
  due_at          timestamptz NOT NULL,
  local_done_at   timestamptz,
  completed_at    timestamptz,
  deleted_counts  jsonb NOT NULL DEFAULT '{}',
  attempts        integer NOT NULL DEFAULT 0,
  last_error      text CHECK (length(last_error) <= 500),
  CHECK (subject_kind <> 'conversation' OR conversation_id IS NOT NULL)
);
CALL wact_private.enable_workspace_rls('wact.deletion_requests');
CREATE INDEX deletion_requests_open ON wact.deletion_requests (workspace_id, status, due_at);
GRANT SELECT, INSERT, UPDATE ON wact.deletion_requests TO wact_broker;

-- One row per ad platform the deletion must reach. `payload` holds the
-- platform identifiers to send (click ids), field-encrypted, and is cleared as
-- soon as the target is done or overdue.
CREATE TABLE wact.deletion_targets (
  request_id       uuid NOT NULL REFERENCES wact.deletion_requests (id) ON DELETE CASCADE,
  workspace_id     uuid NOT NULL REFERENCES wact.workspaces (id),
  platform         text NOT NULL CHECK (platform ~ '^[a-z][a-z0-9_]{1,30}$'),
  endpoint         text NOT NULL CHECK (length(endpoint) <= 2000),
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'overdue', 'not_needed')),
  payload          bytea,
  identifier_count integer NOT NULL DEFAULT 0,
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  last_attempt_at  timestamptz,
  response_status  integer,
  response_summary text CHECK (length(response_summary) <= 300),
  completed_at     timestamptz,
  PRIMARY KEY (request_id, platform)
);
CALL wact_private.enable_workspace_rls('wact.deletion_targets');
GRANT SELECT, INSERT, UPDATE ON wact.deletion_targets TO wact_broker;

-- Which tables retention trims, by which clock and which class of setting.
-- Registered by migrations (see 0510); the job reads this list, so a new
-- time-stamped table is covered by adding one row.
CREATE TABLE wact_private.retention_tables (
  table_name  text PRIMARY KEY CHECK (table_name ~ '^[a-z_]+\.[a-z_0-9]+$'),
  time_column name NOT NULL,
  class       text NOT NULL CHECK (class IN ('events', 'raw')),
  -- Tables trimmed first are listed with a lower number (children before parents).
  run_order   integer NOT NULL DEFAULT 100
);
GRANT SELECT ON wact_private.retention_tables TO wact_broker;

-- The partitions of a registered (or bench) table with their time bounds.
-- A DEFAULT partition has no bounds and is never dropped.
CREATE FUNCTION wact_private.time_partitions(parent regclass)
RETURNS TABLE (partition regclass, lower_bound timestamptz, upper_bound timestamptz)
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT c.oid::regclass,
         (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\)'))[1]::timestamptz,
         (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
   WHERE i.inhparent = parent
     AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
   ORDER BY 2;
$$;
REVOKE ALL ON FUNCTION wact_private.time_partitions(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wact_private.time_partitions(regclass) TO wact_broker;

-- Drops one partition of a registered retention table, only if it lies wholly
-- before `cutoff`. Runs as the owner (only owners may drop tables); the guard
-- means the broker role cannot drop anything else through it. The caller
-- counts the partition's rows through the parent first (as itself: the
-- owner would see none under forced row-level security).
CREATE FUNCTION wact_private.drop_expired_partition(parent regclass, part regclass, cutoff timestamptz)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM wact_private.retention_tables t WHERE t.table_name = parent::text) THEN
    RAISE EXCEPTION 'table % is not registered for retention', parent USING ERRCODE = '42501';
  END IF;
  IF cutoff > now() THEN
    RAISE EXCEPTION 'retention cutoff lies in the future' USING ERRCODE = '22023';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM wact_private.time_partitions(parent) tp WHERE tp.partition = part AND tp.upper_bound <= cutoff) THEN
    RETURN false;
  END IF;
  EXECUTE format('DROP TABLE %s', part);
  RETURN true;
END $$;
REVOKE ALL ON FUNCTION wact_private.drop_expired_partition(regclass, regclass, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wact_private.drop_expired_partition(regclass, regclass, timestamptz) TO wact_broker;

-- What retention trims. Events: the attributed data (24 months at most);
-- raw: minimised webhook payloads and their delivery receipts (90 days).
-- Lower run_order first: dependants before what they point at.
INSERT INTO wact_private.retention_tables (table_name, time_column, class, run_order)
SELECT v.t, v.c, v.k, v.o
  FROM (VALUES
    ('wact.raw_webhook_payloads', 'received_at', 'raw', 10),
    ('wact.webhook_receipts',     'received_at', 'raw', 20),
    ('wact.export_jobs',          'created_at',  'events', 30),
    ('wact.conversion_keys',      'created_at',  'events', 40),
    ('wact.conversions',          'created_at',  'events', 50),
    ('wact.conversations',        'created_at',  'events', 60),
    ('wact.clicks',               'created_at',  'events', 70),
    ('wact.deletion_requests',    'requested_at', 'events', 80)
  ) AS v (t, c, k, o)
 WHERE to_regclass(v.t) IS NOT NULL;

-- Erasing a wiped workspace's own audit stream (the platform log in the
-- control database keeps the wipe event with the stream's final head). Only
-- for a workspace whose anchor row is gone: the probe insert below succeeds
-- exactly when the anchor still exists. (Foreign-key checks see every row;
-- this definer, as owner under forced row-level security, would see none
-- with a plain SELECT.) The probe row never survives the subtransaction.
CREATE TABLE wact_private.wipe_probe (ws uuid NOT NULL REFERENCES wact.workspaces (id));
REVOKE ALL ON wact_private.wipe_probe FROM PUBLIC;

CREATE FUNCTION wact_private.erase_wiped_audit_stream(p_ws uuid)
RETURNS TABLE (events bigint, last_seq bigint, last_hash text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
  n bigint;
BEGIN
  BEGIN
    INSERT INTO wact_private.wipe_probe (ws) VALUES (p_ws);
    RAISE EXCEPTION 'anchor present' USING ERRCODE = 'P0001';
  EXCEPTION
    WHEN foreign_key_violation THEN NULL; -- no anchor: wiped (or never here)
    WHEN raise_exception THEN
      RAISE EXCEPTION 'workspace % still exists in this region: wipe it first', p_ws USING ERRCODE = '55000';
  END;
  events := 0;
  IF to_regclass('audit.chain_heads') IS NOT NULL THEN
    EXECUTE 'SELECT seq, encode(hash, ''hex'') FROM audit.chain_heads WHERE stream_id = $1' INTO last_seq, last_hash USING p_ws;
    EXECUTE 'DELETE FROM audit.chain_heads WHERE stream_id = $1' USING p_ws;
  END IF;
  IF to_regclass('audit.signed_heads') IS NOT NULL THEN
    EXECUTE 'DELETE FROM audit.signed_heads WHERE stream_id = $1' USING p_ws;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('audit.events') AND attname = 'stream_id') THEN
    EXECUTE 'DELETE FROM audit.events WHERE stream_id = $1' USING p_ws;
  ELSE
    EXECUTE 'DELETE FROM audit.events WHERE workspace_id = $1' USING p_ws;
  END IF;
  GET DIAGNOSTICS n = ROW_COUNT;
  events := n;
  RETURN NEXT;
END $$;
REVOKE ALL ON FUNCTION wact_private.erase_wiped_audit_stream(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wact_private.erase_wiped_audit_stream(uuid) TO wact_broker;

-- The broker carries out wipes, deletion requests and retention trims for
-- every workspace, so it may DELETE from every workspace-owned table: the ones
-- earlier migrations created (listed from the catalog here) and, through
-- default privileges, every table wact_owner creates in schema wact later.
DO $$
DECLARE
  t record;
BEGIN
  FOR t IN
    SELECT c.oid::regclass AS tbl
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'workspace_id' AND NOT a.attisdropped
     WHERE n.nspname IN ('wact', 'wact_private') AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  LOOP
    EXECUTE format('GRANT SELECT, DELETE ON %s TO wact_broker', t.tbl);
  END LOOP;
END $$;
GRANT DELETE ON wact.workspaces TO wact_broker;
ALTER DEFAULT PRIVILEGES FOR ROLE wact_owner IN SCHEMA wact GRANT SELECT, DELETE ON TABLES TO wact_broker;
