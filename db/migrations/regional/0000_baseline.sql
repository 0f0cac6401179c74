-- Baseline of every regional database: everything a workspace owns lives
-- here. The schema as the numbered migrations 0001..0900, 0340, 0350 and
-- 0700 left it, squashed;
-- functions, views, policies and triggers are not here but in db/functions,
-- db/views, db/policies and db/triggers, re-applied on every migrate, and
-- pg-boss's schema comes from pg-boss itself (docs/database.md). Runs as
-- wact_owner (the migrator sets the role), so wact_owner owns it all. Never
-- edited once released: a change is a new numbered file in this folder.
--
-- Every workspace-owned table enables and forces row-level security here and
-- is listed in db/policies/workspace_isolation.sql (a test checks both).

CREATE SCHEMA wact;          -- workspace-owned application tables
CREATE SCHEMA wact_private;  -- keys, session grants, helper functions
REVOKE ALL ON SCHEMA wact, wact_private FROM PUBLIC;
GRANT USAGE ON SCHEMA wact TO wact_ingest, wact_broker, wact_engineer;
GRANT USAGE ON SCHEMA wact_private TO wact_ingest, wact_broker, wact_support, wact_engineer;

-- Tables wact_owner creates in schema wact later are readable by engineer
-- sessions (RLS limits the rows) and deletable by the broker, which carries
-- out wipes, deletion requests and retention trims for every workspace.
ALTER DEFAULT PRIVILEGES FOR ROLE wact_owner IN SCHEMA wact GRANT SELECT ON TABLES TO wact_engineer;
ALTER DEFAULT PRIVILEGES FOR ROLE wact_owner IN SCHEMA wact GRANT SELECT, DELETE ON TABLES TO wact_broker;

-- Redacted views for support sessions (db/views/redacted.*), and the broker's
-- support browsing, which reads them AS the session role. Identifiers are
-- masked (wact_private.mask_hash / mask_click_id); credentials, ciphertexts
-- and payloads are left out entirely. Ordinary (owner-privileged) views with
-- security_barrier: a wact_support session needs no right on the base tables,
-- and the base tables' forced row-level security still evaluates the policy
-- with current_user = the session role, so only the granted workspace shows.
CREATE SCHEMA redacted;
REVOKE ALL ON SCHEMA redacted FROM PUBLIC;
GRANT USAGE ON SCHEMA redacted TO wact_support, wact_engineer, wact_broker;

-- The regional copy of the workspace directory entry (the control database
-- holds the directory; this row anchors foreign keys and residency checks).
CREATE TABLE wact.workspaces (
  id          uuid PRIMARY KEY,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  region      text NOT NULL CHECK (region IN ('eu', 'us')),
  created_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE wact.workspaces ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

-- Per-workspace keys, only ever stored wrapped by the region's KEK.
CREATE TABLE wact_private.workspace_keys (
  workspace_id uuid NOT NULL REFERENCES wact.workspaces (id) ON DELETE CASCADE,
  purpose      text NOT NULL CHECK (purpose ~ '^[a-z][a-z0-9-]{1,40}$'),
  version      integer NOT NULL CHECK (version > 0),
  wrapped      bytea NOT NULL,
  kek_id       text NOT NULL,
  provider     text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, purpose, version)
);
ALTER TABLE wact_private.workspace_keys ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

-- Which workspace each broker-minted session role may see, until when.
CREATE TABLE wact_private.session_grants (
  role_name    name PRIMARY KEY,
  workspace_id uuid NOT NULL REFERENCES wact.workspaces (id) ON DELETE CASCADE,
  scope        text NOT NULL CHECK (scope IN ('redacted', 'full')),
  expires_at   timestamptz NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);

-- Ingest: BSP credentials, links, clicks, conversations, raw (minimised)
-- webhook payloads, conversions, API keys, ad-platform credentials, exports.
--
-- Rules this file follows:
--  * nothing here holds a raw phone number, message text, name, click id or
--    secret: identifiers are keyed hashes (HMAC-SHA-256, workspace key) or
--    AES-256-GCM ciphertext (bytea, AAD = workspace/table/column);
--  * `*_prefix` columns hold the first 4 characters of a click id, for masked
--    display only (wact_private.mask_click_id shows exactly those 4);
--  * high-volume tables are range-partitioned on the time the row was
--    written (server clock), so retention drops partitions and a delayed or
--    back-dated delivery still lands in an existing partition;
--  * deduplication lives in non-partitioned tables (a unique key on a
--    partitioned table would have to include the partition column);
--  * wact_ingest may INSERT/SELECT what it writes and reads, nothing more;
--    every table is RLS-protected per workspace.

-- Per-workspace BSP webhook secrets (Meta app secret, Twilio auth token,
-- 360dialog platform secret, Bird signing key, Gupshup custom-header token).
CREATE TABLE wact.bsp_credentials (
  workspace_id     uuid NOT NULL REFERENCES wact.workspaces (id) ON DELETE CASCADE,
  provider         text NOT NULL CHECK (provider IN ('meta', 'twilio', '360dialog', 'bird', 'gupshup')),
  secret_enc       bytea NOT NULL,
  verify_token_enc bytea,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, provider)
);
ALTER TABLE wact.bsp_credentials ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

-- Click-to-chat links: /r/{workspace}/{link id} redirects to wa.me/<number>.
-- The number is the business's own public WhatsApp number, not a visitor's.
CREATE TABLE wact.links (
  id           text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9]{8,32}$'),
  workspace_id uuid NOT NULL REFERENCES wact.workspaces (id) ON DELETE CASCADE,
  wa_number    text NOT NULL CHECK (wa_number ~ '^[1-9][0-9]{6,14}$'),
  prefill_text text NOT NULL DEFAULT '' CHECK (length(prefill_text) <= 500),
  created_at   timestamptz NOT NULL DEFAULT now(),
  disabled_at  timestamptz
);
ALTER TABLE wact.links ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE INDEX links_workspace_idx ON wact.links (workspace_id);

-- One row per captured click: a link redirect, a site snippet, or the
-- Click-to-WhatsApp referral carried by a first inbound message.
CREATE TABLE wact.clicks (
  id                uuid NOT NULL,
  workspace_id      uuid NOT NULL REFERENCES wact.workspaces (id) ON DELETE CASCADE,
  source            text NOT NULL CHECK (source IN ('link', 'snippet', 'ctwa')),
  link_id           text,
  ref_hash          text,                 -- keyed hash of the ref code put in the prefilled text
  fbclid_enc        bytea,
  gclid_enc         bytea,
  gbraid_enc        bytea,
  wbraid_enc        bytea,
  msclkid_enc       bytea,
  ttclid_enc        bytea,
  li_fat_id_enc     bytea,
  ctwa_clid_enc     bytea,
  click_id_prefixes jsonb NOT NULL DEFAULT '{}'::jsonb, -- {kind: first 4 chars}, masked display only
  ad_source_id      text,                 -- the advertiser's ad / post id (CTWA referral)
  ad_source_type    text,
  ad_source_url_enc bytea,
  utm_source        text,
  utm_medium        text,
  utm_campaign      text,
  utm_term          text,
  utm_content       text,
  utm_id            text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
ALTER TABLE wact.clicks ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE INDEX clicks_ref_idx ON wact.clicks (workspace_id, ref_hash) WHERE ref_hash IS NOT NULL;
CREATE INDEX clicks_ad_source_idx ON wact.clicks (workspace_id, ad_source_id, created_at) WHERE ad_source_id IS NOT NULL;

-- A conversation starts with the first inbound message of a sender (phone
-- hash, or the hash of Meta's business-scoped user id) and lasts a window
-- (default 24 h from its start). Attribution is decided when it starts.
CREATE TABLE wact.conversations (
  id                     uuid NOT NULL,
  workspace_id           uuid NOT NULL REFERENCES wact.workspaces (id) ON DELETE CASCADE,
  provider               text NOT NULL,
  sender_hash            text NOT NULL,
  sender_kind            text NOT NULL CHECK (sender_kind IN ('phone', 'bsuid')),
  started_at             timestamptz NOT NULL,
  ctwa_clid_enc          bytea,
  ctwa_clid_prefix       text,
  ad_source_id           text,
  ad_source_type         text,
  matched_click_id       uuid,
  matched_click_at       timestamptz,
  attribution_method     text CHECK (attribution_method IN ('ref_code', 'ctwa_clid', 'ad_source_id')),
  attribution_latency_ms bigint,
  created_at             timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
ALTER TABLE wact.conversations ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE INDEX conversations_sender_idx ON wact.conversations (workspace_id, sender_hash, started_at DESC);
CREATE INDEX conversations_id_idx ON wact.conversations (workspace_id, id);

-- Deduplication of BSP deliveries: one row per (workspace, provider, keyed
-- hash of the provider message id). Not partitioned so the key is global.
CREATE TABLE wact.webhook_receipts (
  workspace_id uuid NOT NULL REFERENCES wact.workspaces (id) ON DELETE CASCADE,
  provider     text NOT NULL,
  message_hash text NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, provider, message_hash)
);
ALTER TABLE wact.webhook_receipts ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE INDEX webhook_receipts_received_idx ON wact.webhook_receipts (received_at);

-- The minimised inbound message (provider, hashes, timestamp, attribution
-- fields), encrypted. Retention: 90 days by dropping daily partitions.
CREATE TABLE wact.raw_webhook_payloads (
  id              uuid NOT NULL,
  workspace_id    uuid NOT NULL REFERENCES wact.workspaces (id) ON DELETE CASCADE,
  provider        text NOT NULL,
  message_hash    text NOT NULL,
  conversation_id uuid NOT NULL,
  payload_enc     bytea NOT NULL,
  received_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, received_at)
) PARTITION BY RANGE (received_at);
ALTER TABLE wact.raw_webhook_payloads ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE INDEX raw_webhook_payloads_conversation_idx ON wact.raw_webhook_payloads (workspace_id, conversation_id);

-- Conversion events posted with a workspace API key.
CREATE TABLE wact.conversions (
  id               uuid NOT NULL,
  workspace_id     uuid NOT NULL REFERENCES wact.workspaces (id) ON DELETE CASCADE,
  event            text NOT NULL CHECK (length(event) BETWEEN 1 AND 100),
  value            numeric(18, 4),
  currency         text CHECK (currency ~ '^[A-Z]{3}$'),
  occurred_at      timestamptz NOT NULL,
  conversation_id  uuid,
  click_id         uuid,
  click_created_at timestamptz,
  match_method     text CHECK (match_method IN ('phone', 'conversation_id')),
  attributed       boolean NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
ALTER TABLE wact.conversions ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE INDEX conversions_conversation_idx ON wact.conversions (workspace_id, conversation_id);

-- Optional client idempotency key of a conversion (keyed hash), global per workspace.
CREATE TABLE wact.conversion_keys (
  workspace_id  uuid NOT NULL REFERENCES wact.workspaces (id) ON DELETE CASCADE,
  key_hash      text NOT NULL,
  conversion_id uuid NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, key_hash)
);
ALTER TABLE wact.conversion_keys ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

-- Workspace API keys for /v1/clicks and /v1/conversions: SHA-256 of the
-- (high-entropy) key only; the key itself is shown once at creation.
CREATE TABLE wact.api_keys (
  id           uuid PRIMARY KEY,
  workspace_id uuid NOT NULL REFERENCES wact.workspaces (id) ON DELETE CASCADE,
  key_hash     text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
  label        text NOT NULL DEFAULT '' CHECK (length(label) <= 200),
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz
);
ALTER TABLE wact.api_keys ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

-- Ad-platform credentials (access tokens, account ids), one encrypted JSON per platform.
CREATE TABLE wact.ad_platform_credentials (
  workspace_id    uuid NOT NULL REFERENCES wact.workspaces (id) ON DELETE CASCADE,
  platform        text NOT NULL CHECK (platform IN ('meta', 'google', 'microsoft', 'tiktok', 'linkedin')),
  credentials_enc bytea NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, platform)
);
ALTER TABLE wact.ad_platform_credentials ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

-- One export per (conversion, platform); its attempts are appended, never updated.
CREATE TABLE wact.export_jobs (
  id            uuid PRIMARY KEY,
  workspace_id  uuid NOT NULL REFERENCES wact.workspaces (id) ON DELETE CASCADE,
  conversion_id uuid NOT NULL,
  platform      text NOT NULL CHECK (platform IN ('meta', 'google', 'microsoft', 'tiktok', 'linkedin')),
  click_kind    text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (conversion_id, platform)
);
ALTER TABLE wact.export_jobs ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE INDEX export_jobs_workspace_idx ON wact.export_jobs (workspace_id, created_at);

CREATE TABLE wact.export_attempts (
  id            uuid PRIMARY KEY,
  workspace_id  uuid NOT NULL REFERENCES wact.workspaces (id) ON DELETE CASCADE,
  export_job_id uuid NOT NULL REFERENCES wact.export_jobs (id) ON DELETE CASCADE,
  attempt       integer NOT NULL CHECK (attempt > 0),
  outcome       text NOT NULL CHECK (outcome IN ('sent', 'failed', 'rejected')),
  http_status   integer,
  error_code    text,
  created_at    timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE wact.export_attempts ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE INDEX export_attempts_job_idx ON wact.export_attempts (export_job_id);

-- Signed-URL downloads: the URL carries a random token, only its SHA-256 is stored.
CREATE TABLE wact.audit_export_links (
  token_hash   bytea       PRIMARY KEY CHECK (length(token_hash) = 32),
  workspace_id uuid        NOT NULL REFERENCES wact.workspaces (id) ON DELETE CASCADE,
  created_by   text        NOT NULL CHECK (length(created_by) BETWEEN 1 AND 200),
  format       text        NOT NULL CHECK (format IN ('csv', 'jsonl')),
  range_from   timestamptz,
  range_to     timestamptz,
  expires_at   timestamptz NOT NULL,
  used_at      timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE wact.audit_export_links ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

-- One SIEM destination per workspace. The optional Authorization header value
-- is ciphertext (AES-256-GCM field cipher bound to this table and column).
CREATE TABLE wact.audit_siem_destinations (
  workspace_id     uuid        PRIMARY KEY REFERENCES wact.workspaces (id) ON DELETE CASCADE,
  url              text        NOT NULL CHECK (url ~ '^https://' AND length(url) <= 2000),
  format           text        NOT NULL DEFAULT 'jsonl' CHECK (format IN ('csv', 'jsonl')),
  auth_header      bytea,
  interval_seconds integer     NOT NULL DEFAULT 300 CHECK (interval_seconds BETWEEN 60 AND 86400),
  enabled          boolean     NOT NULL DEFAULT true,
  last_pushed_seq  bigint      NOT NULL DEFAULT 0 CHECK (last_pushed_seq >= 0),
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  failures         integer     NOT NULL DEFAULT 0,
  last_error       text        CHECK (length(last_error) <= 200),
  last_success_at  timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE wact.audit_siem_destinations ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

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
ALTER TABLE wact.retention_settings ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

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
ALTER TABLE wact.deletion_requests ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE INDEX deletion_requests_open ON wact.deletion_requests (workspace_id, status, due_at);

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
ALTER TABLE wact.deletion_targets ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

-- Which tables retention trims, by which clock and which class of setting.
-- The job reads this list, so a new time-stamped table is covered by adding
-- one row (in the migration that creates it).
CREATE TABLE wact_private.retention_tables (
  table_name  text PRIMARY KEY CHECK (table_name ~ '^[a-z_]+\.[a-z_0-9]+$'),
  time_column name NOT NULL,
  class       text NOT NULL CHECK (class IN ('events', 'raw')),
  -- Tables trimmed first are listed with a lower number (children before parents).
  run_order   integer NOT NULL DEFAULT 100
);

-- What retention trims. Events: the attributed data (24 months at most);
-- raw: minimised webhook payloads and their delivery receipts (90 days).
-- Lower run_order first: dependants before what they point at.
INSERT INTO wact_private.retention_tables (table_name, time_column, class, run_order)
VALUES
  ('wact.raw_webhook_payloads', 'received_at', 'raw', 10),
  ('wact.webhook_receipts',     'received_at', 'raw', 20),
  ('wact.export_jobs',          'created_at',  'events', 30),
  ('wact.conversion_keys',      'created_at',  'events', 40),
  ('wact.conversions',          'created_at',  'events', 50),
  ('wact.conversations',        'created_at',  'events', 60),
  ('wact.clicks',               'created_at',  'events', 70),
  ('wact.deletion_requests',    'requested_at', 'events', 80);

-- The daily retention trim of the unpartitioned event tables deletes by time.
CREATE INDEX export_jobs_created_idx ON wact.export_jobs (created_at);
CREATE INDEX conversion_keys_created_idx ON wact.conversion_keys (created_at);
CREATE INDEX deletion_requests_requested_idx ON wact.deletion_requests (requested_at);

-- Used by wact_private.erase_wiped_audit_stream (superseded): its probe insert
-- succeeds exactly when the anchor row still exists. No row ever survives.
CREATE TABLE wact_private.wipe_probe (ws uuid NOT NULL REFERENCES wact.workspaces (id));
REVOKE ALL ON wact_private.wipe_probe FROM PUBLIC;

-- The transactions that are erasing a workspace's history, and for which
-- workspace (see wact_private.erase_workspace_history). Rows live only inside
-- the eraser's transaction; no other role can write here.
CREATE TABLE wact_private.history_erasures (
  ws uuid   NOT NULL,
  tx bigint NOT NULL DEFAULT txid_current(),
  PRIMARY KEY (ws, tx)
);
REVOKE ALL ON wact_private.history_erasures FROM PUBLIC;

-- Progress of `wact workspace rotate-keys --reencrypt`: one row per table
--    and target data-key version, with the keyset cursor of the last batch,
--    written in the same transaction as the batch, so an interrupted run resumes
--    exactly where it stopped. Goes with the workspace (cascade, and the wipe
--    deletes every workspace table).
CREATE TABLE wact_private.key_reencryption (
  workspace_id   uuid NOT NULL REFERENCES wact.workspaces (id) ON DELETE CASCADE,
  target_version integer NOT NULL CHECK (target_version > 0),
  database       text NOT NULL CHECK (database IN ('control', 'regional')),
  table_name     text NOT NULL,
  cursor         jsonb,
  rows_done      bigint NOT NULL DEFAULT 0,
  finished_at    timestamptz,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, target_version, database, table_name)
);
ALTER TABLE wact_private.key_reencryption ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

\ir ../../schema/audit.sql

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
-- Reads: the broker's WAct access view and the export. Nobody writes the
-- tables directly (audit.append_transcript), nobody updates or deletes
-- (triggers transcript_guard, transcript_truncate_guard).
REVOKE ALL ON audit.transcripts, audit.transcript_records FROM PUBLIC;
GRANT SELECT ON audit.transcripts, audit.transcript_records TO wact_broker;

-- Grants: ingest writes and reads what it handles; the broker reads for the
-- API, manages links, keys and credentials from the console, and deletes for
-- wipes, deletion requests and retention (every workspace-owned table, through
-- the default privileges above for schema wact); engineer sessions read every
-- table of schema wact (RLS limits them to their granted workspace).
-- Nobody deletes or truncates the anchor row: wact_private.erase_workspace_history
-- (owner only) is the one way a workspace leaves.
REVOKE DELETE ON wact.workspaces FROM wact_broker;
GRANT SELECT ON wact.workspaces TO wact_ingest;
GRANT INSERT ON wact.workspaces TO wact_broker;
GRANT SELECT ON wact_private.workspace_keys TO wact_ingest;
GRANT SELECT, INSERT, DELETE ON wact_private.workspace_keys TO wact_broker; -- workspaces created from the console
GRANT SELECT, DELETE ON wact_private.session_grants, wact_private.key_reencryption TO wact_broker;
-- Key commands and the workspace move run through the broker as the
-- signed-in person (issue 14.4), the long ones as worker jobs (wact_broker),
-- each with the narrowest grant the code needs. Re-wrapping
-- (shared/crypto/keyring-dal.ts): the wrapping columns only; every change is
-- still announced by the workspace_keys_announce trigger. Re-encryption
-- (shared/crypto/reencrypt-service.ts): its resumable cursor, and the
-- ciphertext columns of the tables ingest writes, nothing else of those rows.
-- The move (shared/lifecycle/move-service.ts) copies a workspace's rows into
-- the target region: INSERT on the tables ingest writes (session grants are
-- not copied; the audit stream is copied by the owner credential).
GRANT UPDATE (wrapped, kek_id, provider) ON wact_private.workspace_keys TO wact_broker;
GRANT INSERT, UPDATE (cursor, rows_done, finished_at, updated_at) ON wact_private.key_reencryption TO wact_broker;
GRANT UPDATE (fbclid_enc, gclid_enc, gbraid_enc, wbraid_enc, msclkid_enc, ttclid_enc, li_fat_id_enc, ctwa_clid_enc,
              ad_source_url_enc) ON wact.clicks TO wact_broker;
GRANT UPDATE (ctwa_clid_enc) ON wact.conversations TO wact_broker;
GRANT UPDATE (payload_enc) ON wact.raw_webhook_payloads TO wact_broker;
GRANT INSERT ON wact.clicks, wact.conversations, wact.webhook_receipts, wact.raw_webhook_payloads, wact.conversions,
  wact.conversion_keys, wact.export_jobs, wact.export_attempts TO wact_broker;
-- API and manages links, keys and credentials from the console; engineer
-- sessions read (RLS limits them to their granted workspace).
GRANT SELECT ON wact.bsp_credentials, wact.links, wact.api_keys, wact.ad_platform_credentials TO wact_ingest;
GRANT SELECT, INSERT ON wact.clicks, wact.conversations, wact.webhook_receipts, wact.raw_webhook_payloads,
  wact.conversions, wact.conversion_keys, wact.export_jobs, wact.export_attempts TO wact_ingest;

GRANT INSERT, UPDATE ON wact.links, wact.bsp_credentials, wact.ad_platform_credentials TO wact_broker;
GRANT INSERT, UPDATE (revoked_at, label) ON wact.api_keys TO wact_broker;
GRANT INSERT, UPDATE (used_at) ON wact.audit_export_links TO wact_broker;
GRANT INSERT, UPDATE ON wact.audit_siem_destinations TO wact_broker;
GRANT INSERT, UPDATE ON wact.retention_settings, wact.deletion_requests, wact.deletion_targets TO wact_broker;
GRANT SELECT ON wact_private.retention_tables TO wact_broker;
