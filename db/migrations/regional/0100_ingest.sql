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
CALL wact_private.enable_workspace_rls('wact.bsp_credentials');

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
CALL wact_private.enable_workspace_rls('wact.links');
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
CALL wact_private.enable_workspace_rls('wact.clicks');
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
CALL wact_private.enable_workspace_rls('wact.conversations');
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
CALL wact_private.enable_workspace_rls('wact.webhook_receipts');
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
CALL wact_private.enable_workspace_rls('wact.raw_webhook_payloads');
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
CALL wact_private.enable_workspace_rls('wact.conversions');
CREATE INDEX conversions_conversation_idx ON wact.conversions (workspace_id, conversation_id);

-- Optional client idempotency key of a conversion (keyed hash), global per workspace.
CREATE TABLE wact.conversion_keys (
  workspace_id  uuid NOT NULL REFERENCES wact.workspaces (id) ON DELETE CASCADE,
  key_hash      text NOT NULL,
  conversion_id uuid NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, key_hash)
);
CALL wact_private.enable_workspace_rls('wact.conversion_keys');

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
CALL wact_private.enable_workspace_rls('wact.api_keys');

-- Ad-platform credentials (access tokens, account ids), one encrypted JSON per platform.
CREATE TABLE wact.ad_platform_credentials (
  workspace_id    uuid NOT NULL REFERENCES wact.workspaces (id) ON DELETE CASCADE,
  platform        text NOT NULL CHECK (platform IN ('meta', 'google', 'microsoft', 'tiktok', 'linkedin')),
  credentials_enc bytea NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, platform)
);
CALL wact_private.enable_workspace_rls('wact.ad_platform_credentials');

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
CALL wact_private.enable_workspace_rls('wact.export_jobs');
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
CALL wact_private.enable_workspace_rls('wact.export_attempts');
CREATE INDEX export_attempts_job_idx ON wact.export_attempts (export_job_id);

-- Partitions. Daily for raw payloads (90-day retention drops one a day),
-- monthly for the rest. Creates what is missing for [p_from, p_from + p_days],
-- RLS on each partition too (direct access to a partition needs a grant
-- nobody has, but the RLS check test lists every table with workspace_id).
-- Definer: the service calls it ahead of time (start-up and hourly).
CREATE FUNCTION wact_private.ensure_ingest_partitions(p_from date DEFAULT current_date, p_days integer DEFAULT 14)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, wact, wact_private AS $$
DECLARE
  d date;
  m date;
  part text;
  created integer := 0;
  parent text;
BEGIN
  IF p_days < 0 OR p_days > 400 THEN
    RAISE EXCEPTION 'p_days out of range';
  END IF;
  FOR d IN SELECT generate_series(p_from, p_from + p_days, interval '1 day')::date LOOP
    part := 'raw_webhook_payloads_p' || to_char(d, 'YYYYMMDD');
    IF to_regclass('wact.' || part) IS NULL THEN
      EXECUTE format('CREATE TABLE wact.%I PARTITION OF wact.raw_webhook_payloads FOR VALUES FROM (%L) TO (%L)',
                     part, d::timestamptz, (d + 1)::timestamptz);
      CALL wact_private.enable_workspace_rls(('wact.' || quote_ident(part))::regclass);
      created := created + 1;
    END IF;
  END LOOP;
  FOR m IN SELECT DISTINCT date_trunc('month', g)::date
             FROM generate_series(p_from, p_from + p_days, interval '1 day') g LOOP
    FOREACH parent IN ARRAY ARRAY['clicks', 'conversations', 'conversions'] LOOP
      part := parent || '_p' || to_char(m, 'YYYYMM');
      IF to_regclass('wact.' || part) IS NULL THEN
        EXECUTE format('CREATE TABLE wact.%I PARTITION OF wact.%I FOR VALUES FROM (%L) TO (%L)',
                       part, parent, m::timestamptz, (m + interval '1 month')::date::timestamptz);
        CALL wact_private.enable_workspace_rls(('wact.' || quote_ident(part))::regclass);
        created := created + 1;
      END IF;
    END LOOP;
  END LOOP;
  RETURN created;
END $$;
REVOKE ALL ON FUNCTION wact_private.ensure_ingest_partitions(date, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wact_private.ensure_ingest_partitions(date, integer) TO wact_ingest, wact_broker;

-- Yesterday (clock skew at midnight) to two weeks ahead.
SELECT wact_private.ensure_ingest_partitions(current_date - 1, 15);

-- Grants: ingest writes and reads what it handles; the broker reads for the
-- API and manages links, keys and credentials from the console; engineer
-- sessions read (RLS limits them to their granted workspace).
GRANT SELECT ON wact.bsp_credentials, wact.links, wact.api_keys, wact.ad_platform_credentials TO wact_ingest;
GRANT SELECT, INSERT ON wact.clicks, wact.conversations, wact.webhook_receipts, wact.raw_webhook_payloads,
  wact.conversions, wact.conversion_keys, wact.export_jobs, wact.export_attempts TO wact_ingest;

GRANT SELECT ON wact.bsp_credentials, wact.links, wact.clicks, wact.conversations, wact.webhook_receipts,
  wact.raw_webhook_payloads, wact.conversions, wact.conversion_keys, wact.api_keys, wact.ad_platform_credentials,
  wact.export_jobs, wact.export_attempts TO wact_broker, wact_engineer;
GRANT INSERT, UPDATE, DELETE ON wact.links, wact.bsp_credentials, wact.ad_platform_credentials TO wact_broker;
GRANT INSERT, UPDATE (revoked_at, label) ON wact.api_keys TO wact_broker;
