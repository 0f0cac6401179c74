-- Ending a session role is two stages (issue 12, point 4; regional 0410):
-- first "no grant, no login" plus terminated backends, then the drop of the
-- role and what it owns. The second may fail and is retried by the sweeper;
-- these columns make that visible to security instead of a 500.
--
-- role_disabled_at  stage one committed in the regional database
-- cleanup_attempts  failed attempts so far (either stage)
-- cleanup_error     the last failure, cleared when the role is dropped
-- cleanup_failed_at when it happened (the sweeper retries oldest last)
-- end_audited_at    the revoked / expired / ended event is in the audit log;
--                   NULL on an ended session means the sweeper writes it
ALTER TABLE wact.access_sessions
  ADD COLUMN role_disabled_at  timestamptz,
  ADD COLUMN cleanup_attempts  integer NOT NULL DEFAULT 0 CHECK (cleanup_attempts >= 0),
  ADD COLUMN cleanup_error     text CHECK (cleanup_error IS NULL OR length(cleanup_error) <= 1000),
  ADD COLUMN cleanup_failed_at timestamptz,
  ADD COLUMN end_audited_at    timestamptz;

-- Sessions that ended before this migration were audited then.
UPDATE wact.access_sessions SET end_audited_at = ended_at WHERE status IN ('expired', 'revoked', 'ended');

CREATE INDEX access_sessions_unaudited_end ON wact.access_sessions (ended_at)
  WHERE end_audited_at IS NULL AND status IN ('expired', 'revoked', 'ended');
