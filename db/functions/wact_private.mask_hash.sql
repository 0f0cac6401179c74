-- databases: regional
-- Display masks for support and engineering views: the same output as
-- shared/masking/masking.ts (a test compares them on random input).
-- A prefix is shown only when it is at most half the value; NULL stays NULL
-- (STRICT). Built-ins are schema-qualified so search_path cannot redirect them.
-- Needs a UTF8 database: the mask character is U+2022.
CREATE OR REPLACE FUNCTION wact_private.mask_hash(value text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN pg_catalog.char_length(value) >= 16
              THEN pg_catalog.left(value, 8) || '••••••••'
              ELSE '••••••••' END;
$$;
REVOKE ALL ON FUNCTION wact_private.mask_hash(text) FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
GRANT EXECUTE ON FUNCTION wact_private.mask_hash(text) TO wact_broker, wact_engineer, wact_support;
