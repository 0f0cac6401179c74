-- Gateway statement records hold the whole masked statement.
-- This file and the other set's 0310_audit_statement_metadata.sql are identical on purpose.
--
-- Why: the gateway used to store at most 1,200 characters of a statement in
-- 200-character parts, so a long comment in front of the real statement left
-- only the comment in the log, and JSON escaping could push an ordinary
-- statement over the 4096-character metadata limit (the connection was then
-- killed). Now the statement is one `statement` metadata string inside the
-- event, so the hash chain still covers it. Only statement records
-- ('db.statement', 'db.statement.*') may be larger: up to 2,400,000
-- characters, the worst case of a 256 KiB statement after masking and JSON
-- escaping (see docs/gateway-statements.md; the gateway refuses larger
-- statements with 54000 before they run). Every other event keeps 4096.
-- Same rule in shared/audit/audit-validation.ts (MAX_STATEMENT_METADATA_JSON).
ALTER TABLE audit.events DROP CONSTRAINT events_metadata_check;
ALTER TABLE audit.events ADD CONSTRAINT events_metadata_check
  CHECK (length(metadata) >= 2 AND left(metadata, 1) = '{'
         AND (length(metadata) <= 4096
              OR ((action = 'db.statement' OR action LIKE 'db.statement.%') AND length(metadata) <= 2400000)));
