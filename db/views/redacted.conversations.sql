-- databases: regional
CREATE OR REPLACE VIEW redacted.conversations WITH (security_barrier = true) AS
  SELECT c.id, c.workspace_id, c.provider,
         wact_private.mask_hash(c.sender_hash) AS sender,
         c.sender_kind, c.started_at,
         wact_private.mask_click_id(c.ctwa_clid_prefix || '....') AS ctwa_clid,
         c.ad_source_id, c.ad_source_type, c.matched_click_id, c.matched_click_at,
         c.attribution_method, c.attribution_latency_ms, c.created_at
    FROM wact.conversations c;
GRANT SELECT ON redacted.conversations TO wact_support, wact_engineer, wact_broker;
