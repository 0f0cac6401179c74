-- Audit log delivery: single-use download links and scheduled SIEM pushes.
-- (Configuration, not audit events: these rows may change; the log may not.)

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
CALL wact_private.enable_workspace_rls('wact.audit_export_links');
GRANT SELECT, INSERT, UPDATE (used_at) ON wact.audit_export_links TO wact_broker;

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
CALL wact_private.enable_workspace_rls('wact.audit_siem_destinations');
GRANT SELECT, INSERT, UPDATE, DELETE ON wact.audit_siem_destinations TO wact_broker;
