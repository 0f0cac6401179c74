-- Access broker (control side): requests for time-boxed database sessions,
-- their four-eyes decisions, the session credentials the gateway checks, and
-- the notifications the requester sees in the console and the CLI.
--
-- Nothing here is usable as a credential: the gateway token is stored as its
-- SHA-256 digest, and the session role's upstream password as AES-256-GCM
-- ciphertext under the workspace's data key (AAD = workspace, table, column).

CREATE TABLE wact.access_sessions (
  id                uuid PRIMARY KEY,                       -- also the gateway user name
  requester_id      uuid NOT NULL REFERENCES wact.users (id),
  requester_name    text NOT NULL CHECK (length(requester_name) BETWEEN 1 AND 200),
  requester_role    text NOT NULL CHECK (requester_role IN ('engineer', 'support', 'security')),
  workspace_id      uuid NOT NULL REFERENCES wact.workspaces (id),
  region            text NOT NULL CHECK (region IN ('eu', 'us')),
  scope             text NOT NULL CHECK (scope IN ('redacted', 'full')),
  purpose           text NOT NULL DEFAULT 'db' CHECK (purpose IN ('db', 'support')),
  reason            text NOT NULL CHECK (length(btrim(reason)) BETWEEN 10 AND 1000),
  ticket_ref        text CHECK (ticket_ref IS NULL OR length(ticket_ref) <= 64),
  ttl_seconds       integer NOT NULL CHECK (ttl_seconds BETWEEN 60 AND 900),
  status            text NOT NULL CHECK (status IN ('pending', 'active', 'denied', 'expired', 'revoked', 'ended')),
  requested_at      timestamptz NOT NULL DEFAULT now(),
  decided_by        uuid REFERENCES wact.users (id),
  decided_by_name   text,
  decided_at        timestamptz,
  decision_note     text CHECK (decision_note IS NULL OR length(decision_note) <= 1000),
  granted_at        timestamptz,
  expires_at        timestamptz,
  revoked_by        uuid REFERENCES wact.users (id),
  revoked_by_name   text,
  revoked_at        timestamptz,
  ended_at          timestamptz,
  role_name         text UNIQUE CHECK (role_name IS NULL OR role_name ~ '^wact_sess_[0-9a-f]{32}$'),
  auth_mode         text CHECK (auth_mode IN ('password', 'rds-iam')),
  token_hash        bytea CHECK (token_hash IS NULL OR length(token_hash) = 32),
  token_issued_at   timestamptz,
  upstream_secret   bytea,                                  -- ciphertext; NULL in rds-iam mode
  role_dropped_at   timestamptz,
  statements_count  bigint NOT NULL DEFAULT 0,
  last_statement_at timestamptz,
  CHECK (status <> 'active' OR (expires_at IS NOT NULL AND role_name IS NOT NULL AND granted_at IS NOT NULL)),
  CHECK (scope = 'redacted' OR requester_role = 'engineer'),
  CHECK (decided_by IS NULL OR decided_by <> requester_id)   -- four eyes, enforced by the database too
);
CREATE INDEX access_sessions_requester ON wact.access_sessions (requester_id, requested_at DESC);
CREATE INDEX access_sessions_workspace ON wact.access_sessions (workspace_id, requested_at DESC);
CREATE INDEX access_sessions_live ON wact.access_sessions (expires_at) WHERE status = 'active';
CREATE INDEX access_sessions_undropped ON wact.access_sessions (status) WHERE role_name IS NOT NULL AND role_dropped_at IS NULL;

CREATE TABLE wact.access_notifications (
  id          bigserial PRIMARY KEY,
  user_id     uuid NOT NULL REFERENCES wact.users (id) ON DELETE CASCADE,
  session_id  uuid NOT NULL REFERENCES wact.access_sessions (id),
  kind        text NOT NULL CHECK (kind IN ('requested', 'approved', 'denied', 'revoked', 'expired')),
  message     text NOT NULL CHECK (length(message) <= 500),
  created_at  timestamptz NOT NULL DEFAULT now(),
  read_at     timestamptz
);
CREATE INDEX access_notifications_user ON wact.access_notifications (user_id, id DESC);

-- The broker reads and writes these; nobody deletes (history is evidence).
GRANT SELECT, INSERT, UPDATE ON wact.access_sessions TO wact_broker;
GRANT SELECT, INSERT, UPDATE (read_at) ON wact.access_notifications TO wact_broker;
GRANT USAGE ON SEQUENCE wact.access_notifications_id_seq TO wact_broker;
