-- databases: regional
-- Display mask of a click id (see wact_private.mask_hash): the first 4
-- characters of a value of at least 8.
CREATE OR REPLACE FUNCTION wact_private.mask_click_id(value text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN pg_catalog.char_length(value) >= 8
              THEN pg_catalog.left(value, 4) || '••••'
              ELSE '••••' END;
$$;
REVOKE ALL ON FUNCTION wact_private.mask_click_id(text) FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
GRANT EXECUTE ON FUNCTION wact_private.mask_click_id(text) TO wact_broker, wact_engineer, wact_support;
