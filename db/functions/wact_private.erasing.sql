-- databases: regional
-- True only inside erase_workspace_history's own transaction, for the
-- workspace it erases. Harmless to anyone; the history_eraser policies and
-- the history_delete_guard trigger call it as the querying role.
CREATE OR REPLACE FUNCTION wact_private.erasing(p_ws uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
  SELECT EXISTS (SELECT 1 FROM wact_private.history_erasures e WHERE e.ws = p_ws AND e.tx = txid_current());
$$;
REVOKE ALL ON FUNCTION wact_private.erasing(uuid) FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
GRANT EXECUTE ON FUNCTION wact_private.erasing(uuid) TO wact_broker, wact_engineer, wact_ingest, wact_support;
