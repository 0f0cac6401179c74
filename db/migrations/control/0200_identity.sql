-- Identity (broker): people, their SSO identities, workspace memberships,
-- invitations, server-side sessions, TOTP and recovery codes, login state.
-- Only the broker touches these tables; nothing here holds a usable secret in
-- clear: session tokens, recovery codes, login ids and device codes are stored
-- as SHA-256/HMAC digests, TOTP secrets as AES-256-GCM ciphertext under a key
-- wrapped by the platform KEK (see broker/auth/totp-secret-box.ts).

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

GRANT SELECT, INSERT, UPDATE, DELETE ON
  wact.users, wact.user_identities, wact.memberships, wact.invitations, wact.workspace_settings,
  wact.sessions, wact.totp_credentials, wact.recovery_codes, wact.oidc_logins, wact.device_logins,
  wact.rate_limits
  TO wact_broker;
