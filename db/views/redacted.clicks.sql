-- databases: regional
CREATE OR REPLACE VIEW redacted.clicks WITH (security_barrier = true) AS
  SELECT c.id, c.workspace_id, c.source, c.link_id,
         wact_private.mask_hash(c.ref_hash) AS ref_hash,
         -- Only the first 4 characters of each click id are stored (for this
         -- display); padding lets mask_click_id show exactly those.
         (SELECT jsonb_object_agg(e.key, wact_private.mask_click_id(e.value || '....'))
            FROM jsonb_each_text(c.click_id_prefixes) AS e) AS click_ids,
         c.ad_source_id, c.ad_source_type,
         c.utm_source, c.utm_medium, c.utm_campaign, c.utm_term, c.utm_content, c.utm_id,
         c.created_at
    FROM wact.clicks c;
GRANT SELECT ON redacted.clicks TO wact_support, wact_engineer, wact_broker;
