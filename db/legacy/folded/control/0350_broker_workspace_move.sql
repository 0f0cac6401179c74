-- Issue 14.4: `wact workspace move` runs through the broker as the signed-in
-- owner, as a job of the worker (wact_broker). Its last step points the
-- directory at the target region: UPDATE of that one column (the broker
-- already writes wiped_at; name and id stay out of reach).
GRANT UPDATE (region) ON wact.workspaces TO wact_broker;
