-- databases: control
-- Gateways learn that an access session ended through the database, not
-- through an in-process callback: any broker (revocation, end) or worker (the
-- sweep's expiry) may end a session, and every gateway holding one of its
-- connections must close it at once (broker/gateway/session-end-events.ts).
-- Announced on channel wact_access_session_ended when the status change
-- commits (NOTIFY is transactional); the payload is the session id only (our
-- own uuid). Gateways re-read the status before acting, so a forged NOTIFY
-- can end nothing still active. Fired by trigger access_session_ended_notify.
CREATE OR REPLACE FUNCTION wact.notify_access_session_ended() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
  PERFORM pg_notify('wact_access_session_ended', NEW.id::text);
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION wact.notify_access_session_ended() FROM PUBLIC;
