-- Issue 13.2: the broker no longer holds the audit signing key. It asks the audit signer (its own
-- process, the only one with kms:Sign) through this table: a request names what to sign (a chain
-- head at a seq, a stream's current head, or an export manifest); the signer re-checks the claim
-- against the events before signing and writes the result or its refusal. A row claims nothing by
-- itself: a result is only a signature, which verifiers check against the published keys.
CREATE TABLE audit.sign_requests (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind         text        NOT NULL CHECK (kind IN ('checkpoint', 'stream_head', 'manifest')),
  stream_id    uuid        NOT NULL,
  seq          bigint      CHECK (seq > 0),
  purpose      text,
  manifest     jsonb,
  requested_at timestamptz NOT NULL DEFAULT now(),
  done_at      timestamptz,
  result       jsonb,
  error        text
);
CREATE INDEX sign_requests_pending ON audit.sign_requests (id) WHERE done_at IS NULL;
-- The broker and the signer both log in as wact_broker (as the lifecycle worker does): the
-- boundary is the KMS key's IAM policy, not the database role (docs/audit-export.md).
GRANT SELECT, INSERT, UPDATE ON audit.sign_requests TO wact_broker;
