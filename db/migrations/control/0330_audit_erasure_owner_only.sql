-- History no service credential can erase (issue 13, point 4), control side.
-- The platform log (stream nil uuid) holds the tombstones of erased workspace
-- streams (action audit.stream.tombstone, written by the wipe flow before the
-- regional erasure; see docs/audit-access.md). Nothing here was ever granted
-- for writing; revoked explicitly so that the role tests
-- (test/audit/erasure-roles.test.ts) state the rule and a later careless GRANT
-- has to undo this file to slip through.
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER
  ON audit.events, audit.chain_heads, audit.signed_heads, audit.signing_keys
  FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
-- The directory entry of a wiped workspace stays (wiped_at set): the platform
-- log keeps pointing at something, and the id is never reused.
REVOKE DELETE, TRUNCATE ON wact.workspaces FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
