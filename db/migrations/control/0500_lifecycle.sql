-- Data lifecycle on the control database: the broker marks a wiped
-- workspace's directory entry (the entry stays, so the id is never reused and
-- the platform log keeps pointing at something).
GRANT UPDATE (wiped_at) ON wact.workspaces TO wact_broker;

-- A wipe also removes the workspace's memberships, invitations and settings.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['wact.memberships', 'wact.invitations', 'wact.workspace_settings'] LOOP
    IF to_regclass(t) IS NOT NULL THEN
      EXECUTE format('GRANT SELECT, DELETE ON %s TO wact_broker', t);
    END IF;
  END LOOP;
END $$;
