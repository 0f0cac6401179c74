-- Owner sign-up invitations: the operator lets one email address create a
-- WAct account without a workspace (the console then runs the setup wizard).
-- Accepted at first sign-in by the identity whose *verified* email matches,
-- at most once; workspace invitations take precedence.

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

-- The broker only finds and accepts; creating, listing and revoking are operator commands.
GRANT SELECT ON wact.signup_invitations TO wact_broker;
GRANT UPDATE (accepted_at, accepted_by) ON wact.signup_invitations TO wact_broker;
