-- databases: regional
-- The owner may see and delete exactly the anchor row it is erasing.
-- wact.workspaces forces row-level security, so even its owner sees no row
-- under workspace_isolation; these admit wact_owner for the workspace its own
-- transaction is erasing (wact_private.erase_workspace_history), and nothing
-- else.
DROP POLICY IF EXISTS history_eraser_select ON wact.workspaces;
DROP POLICY IF EXISTS history_eraser_delete ON wact.workspaces;
CREATE POLICY history_eraser_select ON wact.workspaces FOR SELECT TO wact_owner USING (wact_private.erasing(id));
CREATE POLICY history_eraser_delete ON wact.workspaces FOR DELETE TO wact_owner USING (wact_private.erasing(id));
