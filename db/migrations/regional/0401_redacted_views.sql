-- Redacted views for support sessions (and the broker's support browsing,
-- which reads them AS the session role). Identifiers are masked with the
-- foundation's rules (wact_private.mask_hash / mask_click_id); credentials,
-- ciphertexts and payloads are left out entirely.
--
-- These are ordinary (owner-privileged) views with security_barrier: a
-- wact_support session needs no right on the base tables, and the base
-- tables' forced row-level security still evaluates the policy with
-- current_user = the session role, so only the granted workspace shows.

CREATE SCHEMA IF NOT EXISTS redacted;
REVOKE ALL ON SCHEMA redacted FROM PUBLIC;
GRANT USAGE ON SCHEMA redacted TO wact_support, wact_engineer, wact_broker;

CREATE VIEW redacted.workspaces WITH (security_barrier = true) AS
  SELECT w.id, w.name, w.region, w.created_at FROM wact.workspaces w;

CREATE VIEW redacted.clicks WITH (security_barrier = true) AS
  SELECT c.id, c.workspace_id, c.source, c.link_id,
         wact_private.mask_hash(c.ref_hash) AS ref_hash,
         -- Only the first 4 characters of each click id are stored (for this
         -- display); padding lets mask_click_id show exactly those.
         (SELECT jsonb_object_agg(e.key, wact_private.mask_click_id(e.value || '....'))
            FROM jsonb_each_text(c.click_id_prefixes) AS e) AS click_ids,
         c.ad_source_id, c.ad_source_type,
         c.utm_source, c.utm_medium, c.utm_campaign, c.utm_term, c.utm_content, c.utm_id,
         c.created_at
    FROM wact.clicks c;

CREATE VIEW redacted.conversations WITH (security_barrier = true) AS
  SELECT c.id, c.workspace_id, c.provider,
         wact_private.mask_hash(c.sender_hash) AS sender,
         c.sender_kind, c.started_at,
         wact_private.mask_click_id(c.ctwa_clid_prefix || '....') AS ctwa_clid,
         c.ad_source_id, c.ad_source_type, c.matched_click_id, c.matched_click_at,
         c.attribution_method, c.attribution_latency_ms, c.created_at
    FROM wact.conversations c;

CREATE VIEW redacted.conversions WITH (security_barrier = true) AS
  SELECT c.id, c.workspace_id, c.event, c.value, c.currency, c.occurred_at, c.conversation_id,
         c.click_id, c.match_method, c.attributed, c.created_at
    FROM wact.conversions c;

CREATE VIEW redacted.links WITH (security_barrier = true) AS
  -- The WhatsApp number and prefilled text are left out: a number is shaped like a phone number.
  SELECT l.id, l.workspace_id, l.created_at, l.disabled_at FROM wact.links l;

CREATE VIEW redacted.api_keys WITH (security_barrier = true) AS
  SELECT k.id, k.workspace_id, k.label, k.created_at, k.revoked_at FROM wact.api_keys k;

CREATE VIEW redacted.bsp_credentials WITH (security_barrier = true) AS
  -- Which providers are configured, never the secrets.
  SELECT b.workspace_id, b.provider, b.created_at, b.updated_at FROM wact.bsp_credentials b;

CREATE VIEW redacted.export_jobs WITH (security_barrier = true) AS
  SELECT j.id, j.workspace_id, j.conversion_id, j.platform, j.click_kind, j.created_at FROM wact.export_jobs j;

CREATE VIEW redacted.export_attempts WITH (security_barrier = true) AS
  SELECT a.id, a.workspace_id, a.export_job_id, a.attempt, a.outcome, a.http_status, a.error_code, a.created_at
    FROM wact.export_attempts a;

GRANT SELECT ON ALL TABLES IN SCHEMA redacted TO wact_support, wact_engineer, wact_broker;
