-- databases: control
-- An active or pending session that ends (revoked, expired, ended, denied) is
-- announced after commit (see wact.notify_access_session_ended).
CREATE OR REPLACE TRIGGER access_session_ended_notify
  AFTER UPDATE OF status ON wact.access_sessions
  FOR EACH ROW
  WHEN (OLD.status IN ('active', 'pending') AND NEW.status IN ('revoked', 'expired', 'ended', 'denied'))
  EXECUTE FUNCTION wact.notify_access_session_ended();
