-- Control database: people, sessions, the workspace directory, access requests.
CREATE SCHEMA wact;
REVOKE ALL ON SCHEMA wact FROM PUBLIC;
GRANT USAGE ON SCHEMA wact TO wact_ingest, wact_broker;

-- The workspace directory: which region holds each workspace's data.
CREATE TABLE wact.workspaces (
  id          uuid PRIMARY KEY,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  region      text NOT NULL CHECK (region IN ('eu', 'us')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  wiped_at    timestamptz
);
GRANT SELECT ON wact.workspaces TO wact_ingest, wact_broker;
GRANT INSERT ON wact.workspaces TO wact_broker;
