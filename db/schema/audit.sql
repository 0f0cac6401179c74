-- Audit log: append-only, hash-chained, partitioned by month. One source for
-- both database kinds (included by each baseline): regional databases hold
-- one stream per workspace (stream_id = workspace id), the control database
-- the platform stream (stream_id = nil uuid). Functions: db/functions/audit.*.
--
-- Why no row-level security here: the audit schema is granted to the service
-- roles only (never to session roles), and services see every workspace
-- anyway; a per-row policy would only cost time on every export and search.
-- Why no foreign key to wact.workspaces: a workspace's audit stream must
-- outlive the workspace (wipe is itself an audited event) until retention.
-- Nothing here is ever granted UPDATE, DELETE or TRUNCATE to an application
-- role (test/audit/erasure-roles.test.ts states the rule).

CREATE SCHEMA audit;
REVOKE ALL ON SCHEMA audit FROM PUBLIC;
GRANT USAGE ON SCHEMA audit TO wact_ingest, wact_broker;

-- One row per event. Text columns are exactly the strings hashed by the
-- canonical form (see audit.append_at): '' is never stored, absent is NULL.
-- The action pattern avoids bounded repetition inside a repeated group
-- (PostgreSQL's regex engine spent ~6 µs per row on it): a segment longer
-- than 40 characters is exactly a run of 41 [a-z0-9_].
-- Metadata: at most 4096 characters, except statement records ('db.statement',
-- 'db.statement.*'), which hold the whole masked statement: up to 2,400,000
-- characters, the worst case of a 256 KiB statement after masking and JSON
-- escaping (docs/gateway-statements.md; the gateway refuses larger ones with
-- 54000 before they run). Same rule in shared/audit/audit-validation.ts
-- (MAX_STATEMENT_METADATA_JSON).
CREATE TABLE audit.events (
  stream_id    uuid        NOT NULL,
  seq          bigint      NOT NULL CHECK (seq > 0),
  id           uuid        NOT NULL,
  occurred_at  timestamptz NOT NULL,
  action       text        NOT NULL CHECK (action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){1,4}$' AND action !~ '[a-z0-9_]{41}'),
  actor_kind   text        NOT NULL CHECK (actor_kind IN ('employee', 'customer', 'service', 'operator', 'anonymous')),
  actor_id     text        NOT NULL CHECK (length(actor_id) BETWEEN 1 AND 200),
  actor_role   text        CHECK (length(actor_role) BETWEEN 1 AND 64),
  actor_name   text        CHECK (length(actor_name) BETWEEN 1 AND 200),
  target_type  text        CHECK (target_type ~ '^[a-z][a-z0-9_.]*$' AND length(target_type) <= 64),
  target_id    text        CHECK (length(target_id) BETWEEN 1 AND 200),
  reason       text        CHECK (length(reason) BETWEEN 1 AND 1000),
  session_id   text        CHECK (length(session_id) BETWEEN 1 AND 200),
  client_ip    text        CHECK (length(client_ip) BETWEEN 1 AND 64),
  user_agent   text        CHECK (length(user_agent) BETWEEN 1 AND 512),
  outcome      text        NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
  metadata     text        NOT NULL,
  prev_hash    bytea       NOT NULL CHECK (length(prev_hash) = 32),
  hash         bytea       NOT NULL CHECK (length(hash) = 32),
  PRIMARY KEY (stream_id, seq, occurred_at),
  CONSTRAINT events_metadata_check CHECK (
    length(metadata) >= 2 AND left(metadata, 1) = '{'
    AND (length(metadata) <= 4096
         OR ((action = 'db.statement' OR action LIKE 'db.statement.%') AND length(metadata) <= 2400000)))
) PARTITION BY RANGE (occurred_at);

-- Search paths (keyset pagination on seq, newest first).
CREATE INDEX events_action_idx ON audit.events (stream_id, action, seq);
CREATE INDEX events_actor_idx  ON audit.events (stream_id, actor_id, seq);
CREATE INDEX events_target_idx ON audit.events (stream_id, target_type, target_id, seq);

-- The head of each stream; its row lock serialises appends per stream.
CREATE TABLE audit.chain_heads (
  stream_id  uuid        PRIMARY KEY,
  seq        bigint      NOT NULL,
  hash       bytea       NOT NULL CHECK (length(hash) = 32),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Public halves of the keys that sign chain heads (issue 13). The keys live
-- outside the database: an AWS KMS asymmetric key (ECDSA P-256) in
-- production, a local Ed25519 key file in development; rows record their
-- public halves (DER SubjectPublicKeyInfo) and validity, so signed heads keep
-- their foreign key and the key set can be published. Older rows (32-byte raw
-- Ed25519 keys whose private half was wrapped by the region's KEK) stay,
-- retired, so exports they signed still verify. Rotation without UPDATE: a key
-- is valid from its created_at until the next key's.
CREATE TABLE audit.signing_keys (
  key_id          text        PRIMARY KEY CHECK (key_id ~ '^[a-z0-9-]{4,64}$'),
  public_key      bytea       NOT NULL,
  wrapped_private bytea,
  kek_id          text,
  provider        text        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  retired_at      timestamptz,
  alg             text        NOT NULL DEFAULT 'EdDSA' CHECK (alg IN ('EdDSA', 'ES256')),
  CONSTRAINT signing_keys_public_key_shape CHECK (
    (length(public_key) = 32 AND alg = 'EdDSA') OR length(public_key) BETWEEN 40 AND 200),
  -- A key held outside the database has no wrapped private half here, and one held here has.
  CONSTRAINT signing_keys_private_where CHECK ((provider IN ('aws-kms-sign', 'local-file')) = (wrapped_private IS NULL))
);

-- Signed chain heads (hourly, at each export, before retention drops a month).
CREATE TABLE audit.signed_heads (
  stream_id  uuid        NOT NULL,
  seq        bigint      NOT NULL CHECK (seq >= 0),
  hash       bytea       NOT NULL CHECK (length(hash) = 32),
  signed_at  timestamptz NOT NULL,
  key_id     text        NOT NULL REFERENCES audit.signing_keys (key_id),
  purpose    text        NOT NULL CHECK (purpose IN ('periodic', 'export', 'retention', 'checkpoint')),
  signature  bytea       NOT NULL CHECK (length(signature) = 64),
  PRIMARY KEY (stream_id, seq, key_id, signed_at)
);

-- Digest files: per stream, the (seq, hash) of every event since the previous
-- digest and a signed head over the last one. Served to the customer to keep
-- (like CloudTrail digest files); `body` is the file exactly as signed and
-- downloaded.
CREATE TABLE audit.digests (
  stream_id    uuid        NOT NULL,
  first_seq    bigint      NOT NULL CHECK (first_seq > 0),
  last_seq     bigint      NOT NULL CHECK (last_seq >= first_seq),
  period_start timestamptz NOT NULL,
  period_end   timestamptz NOT NULL,
  body         text        NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (stream_id, last_seq)
);

-- Issue 13.2: the broker holds no audit signing key. It asks the audit signer
-- (its own process, the only one with kms:Sign) through this table: a request
-- names what to sign (a chain head at a seq, a stream's current head, or an
-- export manifest); the signer re-checks the claim against the events before
-- signing and writes the result or its refusal. A row claims nothing by
-- itself: a result is only a signature, which verifiers check against the
-- published keys.
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

-- The broker reads (search, export) and asks for signatures: it inserts a sign
-- request and reads the answer. Only the audit signing worker (wact_signer,
-- issue 13.2) publishes signing keys and writes signed heads and digests, so
-- a broker credential can neither register a key of its own (and so in
-- /.well-known/wact-audit-keys) nor plant heads. Appends go through
-- audit.append / audit.append_series only. Partitions created later inherit
-- nothing: reads go through audit.events.
GRANT USAGE ON SCHEMA audit TO wact_signer;
GRANT SELECT ON audit.events, audit.chain_heads, audit.signed_heads, audit.signing_keys, audit.digests TO wact_broker, wact_signer;
GRANT INSERT ON audit.signing_keys, audit.signed_heads, audit.digests TO wact_signer;
GRANT SELECT, INSERT, UPDATE ON audit.sign_requests TO wact_broker;
GRANT SELECT, UPDATE ON audit.sign_requests TO wact_signer;
