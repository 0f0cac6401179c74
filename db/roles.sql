-- Cluster-wide roles of the design brief. Idempotent: run by `wact migrate`
-- as the operator before any versioned migration. Concurrent runs (tests)
-- may race on CREATE ROLE, hence the per-role exception blocks.
DO $$
DECLARE
  spec text[];
BEGIN
  FOREACH spec SLICE 1 IN ARRAY ARRAY[
    -- name,          attributes
    ['wact_owner',    'NOLOGIN CREATEROLE'],   -- owns schemas; mints session roles through definer functions
    ['wact_ingest',   'LOGIN'],                -- ingest service
    ['wact_broker',   'LOGIN'],                -- broker service (API, gateway control)
    ['wact_signer',   'LOGIN'],                -- audit signing worker: the only writer of keys, signed heads, digests
    ['wact_support',  'NOLOGIN'],              -- group of redacted support sessions
    ['wact_engineer', 'NOLOGIN']               -- group of full-scope engineer sessions
  ] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = spec[1]) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I %s', spec[1], spec[2]);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;
      END;
    END IF;
  END LOOP;
END $$;

-- Session roles are terminated by definer functions owned by wact_owner.
GRANT pg_signal_backend TO wact_owner;

-- Session roles are minted as members of wact_support / wact_engineer by
-- wact_owner's definer functions (regional 0400). From PostgreSQL 16 granting
-- membership needs ADMIN OPTION on the group; INHERIT/SET FALSE keep wact_owner
-- from using the groups' rights itself. PostgreSQL 15: CREATEROLE suffices.
DO $$
BEGIN
  IF current_setting('server_version_num')::int >= 160000 THEN
    EXECUTE 'GRANT wact_support, wact_engineer TO wact_owner WITH ADMIN OPTION, INHERIT FALSE, SET FALSE';
  END IF;
END $$;
