-- databases: regional
-- Every change to a workspace's wrapped keys is announced after commit (see
-- wact_private.announce_workspace_keys).
CREATE OR REPLACE TRIGGER workspace_keys_announce
  AFTER INSERT OR UPDATE OR DELETE ON wact_private.workspace_keys
  FOR EACH ROW EXECUTE FUNCTION wact_private.announce_workspace_keys();
