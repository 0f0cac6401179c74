-- Regional database: everything a workspace owns lives here.
-- Runs as wact_owner (the migrator sets the role), so wact_owner owns it all.

CREATE SCHEMA wact;          -- workspace-owned application tables
CREATE SCHEMA wact_private;  -- keys, session grants, helper functions
REVOKE ALL ON SCHEMA wact, wact_private FROM PUBLIC;
GRANT USAGE ON SCHEMA wact TO wact_ingest, wact_broker, wact_engineer;
GRANT USAGE ON SCHEMA wact_private TO wact_ingest, wact_broker, wact_support, wact_engineer;

-- The regional copy of the workspace directory entry (the control database
-- holds the directory; this row anchors foreign keys and residency checks).
CREATE TABLE wact.workspaces (
  id          uuid PRIMARY KEY,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  region      text NOT NULL CHECK (region IN ('eu', 'us')),
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Per-workspace keys, only ever stored wrapped by the region's KEK.
CREATE TABLE wact_private.workspace_keys (
  workspace_id uuid NOT NULL REFERENCES wact.workspaces (id) ON DELETE CASCADE,
  purpose      text NOT NULL CHECK (purpose ~ '^[a-z][a-z0-9-]{1,40}$'),
  version      integer NOT NULL CHECK (version > 0),
  wrapped      bytea NOT NULL,
  kek_id       text NOT NULL,
  provider     text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, purpose, version)
);
GRANT SELECT ON wact_private.workspace_keys TO wact_ingest, wact_broker;
GRANT INSERT ON wact_private.workspace_keys TO wact_broker; -- workspaces created from the console

-- Which workspace each broker-minted session role may see, until when.
CREATE TABLE wact_private.session_grants (
  role_name    name PRIMARY KEY,
  workspace_id uuid NOT NULL REFERENCES wact.workspaces (id) ON DELETE CASCADE,
  scope        text NOT NULL CHECK (scope IN ('redacted', 'full')),
  expires_at   timestamptz NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);

-- Row visibility for every workspace-owned table. Services see every
-- workspace (they act for all of them and audit what they read); a session
-- role sees only the workspace it was granted, and only until expiry.
-- `who` is passed as current_user by the policy: inside this definer
-- function current_user would be the owner.
CREATE FUNCTION wact_private.workspace_visible(ws uuid, who name) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, wact_private AS $$
  SELECT pg_has_role(who, 'wact_ingest', 'MEMBER')
      OR pg_has_role(who, 'wact_broker', 'MEMBER')
      OR EXISTS (SELECT 1 FROM wact_private.session_grants g
                  WHERE g.role_name = who AND g.workspace_id = ws AND g.expires_at > now());
$$;
REVOKE ALL ON FUNCTION wact_private.workspace_visible(uuid, name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wact_private.workspace_visible(uuid, name)
  TO wact_ingest, wact_broker, wact_support, wact_engineer;

-- Every workspace-owned table calls this once: RLS on, forced, one policy.
-- A test lists every table with a workspace_id column and checks it was done.
CREATE PROCEDURE wact_private.enable_workspace_rls(tbl regclass, col name DEFAULT 'workspace_id')
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
  EXECUTE format(
    'CREATE POLICY workspace_isolation ON %s USING (wact_private.workspace_visible(%I, current_user)) WITH CHECK (wact_private.workspace_visible(%I, current_user))',
    tbl, col, col);
END $$;

CALL wact_private.enable_workspace_rls('wact.workspaces', 'id');
CALL wact_private.enable_workspace_rls('wact_private.workspace_keys');
GRANT SELECT ON wact.workspaces TO wact_ingest, wact_broker, wact_engineer;
GRANT INSERT ON wact.workspaces TO wact_broker;
