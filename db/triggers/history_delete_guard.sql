-- databases: regional
-- History no service credential can erase (issue 13, point 4): a row leaves
-- these tables only inside wact_private.erase_workspace_history (see
-- wact_private.refuse_history_delete). On the partitioned audit.events the
-- trigger is cloned onto every partition, present and future.
CREATE OR REPLACE TRIGGER history_delete_guard BEFORE DELETE ON wact.workspaces
  FOR EACH ROW EXECUTE FUNCTION wact_private.refuse_history_delete();
CREATE OR REPLACE TRIGGER history_delete_guard BEFORE DELETE ON audit.chain_heads
  FOR EACH ROW EXECUTE FUNCTION wact_private.refuse_history_delete();
CREATE OR REPLACE TRIGGER history_delete_guard BEFORE DELETE ON audit.signed_heads
  FOR EACH ROW EXECUTE FUNCTION wact_private.refuse_history_delete();
CREATE OR REPLACE TRIGGER history_delete_guard BEFORE DELETE ON audit.events
  FOR EACH ROW EXECUTE FUNCTION wact_private.refuse_history_delete();
