-- Foundation hardening (runs after every feature migration): the RLS helper
-- answers only for the caller. Without this check a session role could call
-- wact_private.workspace_visible(ws, 'wact_broker') or pass another session
-- role's name and learn which workspaces other roles may see. The policies
-- always pass current_user, which is the login (session_user) or a role the
-- login may act as, so row visibility is unchanged.
CREATE OR REPLACE FUNCTION wact_private.workspace_visible(ws uuid, who name) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, wact_private AS $$
BEGIN
  IF who <> session_user AND NOT pg_has_role(session_user, who, 'MEMBER') THEN
    RETURN false;
  END IF;
  IF pg_has_role(who, 'wact_ingest', 'MEMBER') OR pg_has_role(who, 'wact_broker', 'MEMBER') THEN
    RETURN true;
  END IF;
  RETURN EXISTS (SELECT 1 FROM wact_private.session_grants g
                  WHERE g.role_name = who AND g.workspace_id = ws AND g.expires_at > now());
END $$;
