-- Baseline of the control database: people, sessions, the workspace
-- directory, owner sign-up invitations, access requests, and the platform's
-- audit stream. The schema as the numbered migrations 0001..0510, 0340 and
-- 0350 left it, squashed; functions, views, policies and triggers are not here but in
-- db/functions, db/views, db/policies and db/triggers, re-applied on every
-- migrate (docs/database.md). Runs as wact_owner (the migrator sets the
-- role), so wact_owner owns it all. Never edited once released: a change is
-- a new numbered file in this folder.

CREATE SCHEMA wact;
REVOKE ALL ON SCHEMA wact FROM PUBLIC;
GRANT USAGE ON SCHEMA wact TO wact_ingest, wact_broker;

-- The workspace directory: which region holds each workspace's data. The
-- entry of a wiped workspace stays (wiped_at set): the platform log keeps
-- pointing at something, and the id is never reused.
CREATE TABLE wact.workspaces (
  id          uuid PRIMARY KEY,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  region      text NOT NULL CHECK (region IN ('eu', 'us')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  wiped_at    timestamptz
);

-- Identity (broker): people, their SSO identities, workspace memberships,
-- invitations, server-side sessions, TOTP and recovery codes, login state.
-- Nothing here holds a usable secret in clear: session tokens, recovery
-- codes, login ids and device codes are stored as SHA-256/HMAC digests, TOTP
-- secrets as AES-256-GCM ciphertext under a key wrapped by the platform KEK
-- (see broker/auth/totp-secret-box.ts).
CREATE TABLE wact.users (
  id             uuid PRIMARY KEY,
  kind           text NOT NULL CHECK (kind IN ('employee', 'customer')),
  display_name   text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
  email          text CHECK (email IS NULL OR length(email) <= 320),
  employee_role  text CHECK (employee_role IN ('engineer', 'support', 'security')),
  created_at     timestamptz NOT NULL DEFAULT now(),
  last_login_at  timestamptz,
  disabled_at    timestamptz,
  CHECK ((kind = 'employee') = (employee_role IS NOT NULL))
);
CREATE INDEX users_email ON wact.users (lower(email));

-- No shared logins: one (issuer, subject) is exactly one user, and a user has one identity.
CREATE TABLE wact.user_identities (
  issuer      text NOT NULL,
  subject     text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
  user_id     uuid NOT NULL UNIQUE REFERENCES wact.users (id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (issuer, subject)
);

CREATE TABLE wact.memberships (
  workspace_id uuid NOT NULL REFERENCES wact.workspaces (id) ON DELETE CASCADE,
  user_id      uuid NOT NULL REFERENCES wact.users (id) ON DELETE CASCADE,
  role         text NOT NULL CHECK (role IN ('owner', 'admin', 'analyst', 'readonly')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX memberships_user ON wact.memberships (user_id);

-- Customers decide who joins: an invitation is accepted at first sign-in by the
-- identity whose verified email matches.
CREATE TABLE wact.invitations (
  id           uuid PRIMARY KEY,
  workspace_id uuid NOT NULL REFERENCES wact.workspaces (id) ON DELETE CASCADE,
  email        text NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
  role         text NOT NULL CHECK (role IN ('owner', 'admin', 'analyst', 'readonly')),
  invited_by   uuid REFERENCES wact.users (id) ON DELETE SET NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  accepted_at  timestamptz,
  accepted_by  uuid REFERENCES wact.users (id) ON DELETE SET NULL,
  revoked_at   timestamptz
);
CREATE UNIQUE INDEX invitations_open ON wact.invitations (workspace_id, lower(email))
  WHERE accepted_at IS NULL AND revoked_at IS NULL;

CREATE TABLE wact.workspace_settings (
  workspace_id  uuid PRIMARY KEY REFERENCES wact.workspaces (id) ON DELETE CASCADE,
  require_totp  boolean NOT NULL DEFAULT false,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  updated_by    uuid REFERENCES wact.users (id) ON DELETE SET NULL
);

-- Server-side sessions; the browser holds only the random token, we hold its digest.
CREATE TABLE wact.sessions (
  id             uuid PRIMARY KEY,
  token_hash     bytea NOT NULL UNIQUE,
  user_id        uuid NOT NULL REFERENCES wact.users (id) ON DELETE CASCADE,
  via            text NOT NULL CHECK (via IN ('browser', 'cli')),
  stage          text NOT NULL CHECK (stage IN ('totp_enroll', 'totp_verify', 'active')),
  mfa            boolean NOT NULL DEFAULT false,
  created_at     timestamptz NOT NULL DEFAULT now(),
  last_seen_at   timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL,
  revoked_at     timestamptz,
  revoked_by     uuid,
  revoke_reason  text,
  client_ip      text,
  user_agent     text
);
CREATE INDEX sessions_user ON wact.sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE wact.totp_credentials (
  user_id          uuid PRIMARY KEY REFERENCES wact.users (id) ON DELETE CASCADE,
  secret_ct        bytea NOT NULL,   -- AES-256-GCM, AAD binds user + table + column
  wrapped_key      bytea NOT NULL,   -- that key, wrapped by the platform KEK
  kek_id           text NOT NULL,
  confirmed_at     timestamptz,      -- NULL: enrollment started, not confirmed
  last_time_step   bigint,           -- replay guard: a step is accepted once
  failed_attempts  integer NOT NULL DEFAULT 0,
  locked_until     timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE wact.recovery_codes (
  user_id    uuid NOT NULL REFERENCES wact.users (id) ON DELETE CASCADE,
  code_hash  bytea NOT NULL,
  used_at    timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, code_hash)
);

-- One row per started sign-in: state, nonce and PKCE verifier, bound to the
-- browser by the digest of a random login id kept in a short-lived cookie.
CREATE TABLE wact.oidc_logins (
  login_hash     bytea PRIMARY KEY,
  state          text NOT NULL,
  nonce          text NOT NULL,
  code_verifier  text NOT NULL,
  return_to      text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL,
  consumed_at    timestamptz
);

-- CLI device-code sign-in.
CREATE TABLE wact.device_logins (
  device_hash   bytea PRIMARY KEY,
  user_code     text NOT NULL UNIQUE,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  approved_by   uuid REFERENCES wact.users (id) ON DELETE CASCADE,
  approved_at   timestamptz,
  denied_at     timestamptz,
  consumed_at   timestamptz
);

-- Fixed-window counters for login rate limits (shared by every broker instance).
CREATE TABLE wact.rate_limits (
  bucket        text PRIMARY KEY,
  window_start  timestamptz NOT NULL,
  hits          integer NOT NULL
);

-- Owner sign-up invitations: one email address may create a WAct account
-- without a workspace (the console then runs the setup wizard). Accepted at
-- first sign-in by the identity whose *verified* email matches, at most once;
-- workspace invitations take precedence.
CREATE TABLE wact.signup_invitations (
  id           uuid PRIMARY KEY,
  email        text NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
  created_by   text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 200), -- operator actor id, e.g. operator:alice
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  accepted_at  timestamptz,
  accepted_by  uuid REFERENCES wact.users (id) ON DELETE SET NULL,
  revoked_at   timestamptz,
  CHECK (expires_at > created_at),
  CHECK ((accepted_at IS NULL) OR (revoked_at IS NULL))
);
-- One open invitation per address (an expired one is retired before a new one is written).
CREATE UNIQUE INDEX signup_invitations_open ON wact.signup_invitations (lower(email))
  WHERE accepted_at IS NULL AND revoked_at IS NULL;

-- Access broker (control side): requests for time-boxed database sessions,
-- their four-eyes decisions, the session credentials the gateway checks, and
-- the notifications the requester sees in the console and the CLI. Nothing
-- here is usable as a credential: the gateway token is stored as its SHA-256
-- digest, and the session role's upstream password as AES-256-GCM ciphertext
-- under the workspace's data key (AAD = workspace, table, column).
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
  -- Ending a session role is two stages (issue 12, point 4): first "no grant,
  -- no login" plus terminated backends, then the drop of the role and what it
  -- owns. The second may fail and is retried by the sweeper; these columns
  -- make that visible to security instead of a 500.
  role_disabled_at  timestamptz,                            -- stage one committed in the regional database
  cleanup_attempts  integer NOT NULL DEFAULT 0 CHECK (cleanup_attempts >= 0), -- failed attempts so far (either stage)
  cleanup_error     text CHECK (cleanup_error IS NULL OR length(cleanup_error) <= 1000), -- the last failure, cleared when the role is dropped
  cleanup_failed_at timestamptz,                            -- when it happened (the sweeper retries oldest last)
  end_audited_at    timestamptz,                            -- the end event is in the audit log; NULL on an ended session: the sweeper writes it
  CHECK (status <> 'active' OR (expires_at IS NOT NULL AND role_name IS NOT NULL AND granted_at IS NOT NULL)),
  CHECK (scope = 'redacted' OR requester_role = 'engineer'),
  CHECK (decided_by IS NULL OR decided_by <> requester_id)   -- four eyes, enforced by the database too
);
CREATE INDEX access_sessions_requester ON wact.access_sessions (requester_id, requested_at DESC);
CREATE INDEX access_sessions_workspace ON wact.access_sessions (workspace_id, requested_at DESC);
CREATE INDEX access_sessions_live ON wact.access_sessions (expires_at) WHERE status = 'active';
CREATE INDEX access_sessions_undropped ON wact.access_sessions (status) WHERE role_name IS NOT NULL AND role_dropped_at IS NULL;
CREATE INDEX access_sessions_unaudited_end ON wact.access_sessions (ended_at)
  WHERE end_audited_at IS NULL AND status IN ('expired', 'revoked', 'ended');

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

\ir ../../schema/audit.sql

-- Grants. The broker reads and writes what the console and the sign-in need;
-- nobody deletes workspaces, access sessions or notifications (history is
-- evidence); ingest only resolves workspaces.
GRANT SELECT ON wact.workspaces TO wact_ingest, wact_broker;
-- The broker marks a wiped workspace (wiped_at) and, as the last step of a
-- `wact workspace move` (a worker job, issue 14.4), points the entry at the
-- target region; name and id stay out of reach.
GRANT INSERT, UPDATE (wiped_at, region) ON wact.workspaces TO wact_broker;
GRANT SELECT, INSERT, UPDATE, DELETE ON
  wact.users, wact.user_identities, wact.memberships, wact.invitations, wact.workspace_settings,
  wact.sessions, wact.totp_credentials, wact.recovery_codes, wact.oidc_logins, wact.device_logins,
  wact.rate_limits
  TO wact_broker;
-- Owner sign-up invitations are made, listed, accepted and revoked through the
-- broker (security officers, signup.manage, audited as the person: issue 14.4).
GRANT SELECT, INSERT, UPDATE (accepted_at, accepted_by, revoked_at) ON wact.signup_invitations TO wact_broker;
GRANT SELECT, INSERT, UPDATE ON wact.access_sessions TO wact_broker;
GRANT SELECT, INSERT, UPDATE (read_at) ON wact.access_notifications TO wact_broker;
GRANT USAGE ON SEQUENCE wact.access_notifications_id_seq TO wact_broker;
