-- databases: regional
CREATE OR REPLACE VIEW redacted.conversions WITH (security_barrier = true) AS
  SELECT c.id, c.workspace_id, c.event, c.value, c.currency, c.occurred_at, c.conversation_id,
         c.click_id, c.match_method, c.attributed, c.created_at
    FROM wact.conversions c;
GRANT SELECT ON redacted.conversions TO wact_support, wact_engineer, wact_broker;
